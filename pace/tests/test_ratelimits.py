"""The shared limiter: counts per key in the default cache, a window that time moves on."""

from __future__ import annotations

import ipaddress

import hypothesis
import time_machine
from hypothesis import given
from hypothesis import strategies as st

from pace.lib.ratelimits import client_ip, hit, too_many_requests


def test_it_refuses_past_the_rate_and_says_when_to_retry(settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "test.thing": "3/m"}
    with time_machine.travel("2026-12-03 10:00:00+00:00", tick=False):
        assert [hit(name="test.thing", key="a") for _ in range(3)] == [None, None, None]
        refused = hit(name="test.thing", key="a")
        assert refused is not None and 1 <= refused.retry_after <= 60
        assert "try again in" in refused.reason
        assert hit(name="test.thing", key="b") is None, "another key has its own count"
    with time_machine.travel("2026-12-03 10:01:01+00:00", tick=False):
        assert hit(name="test.thing", key="a") is None, "a new window starts afresh"


def test_it_never_refuses_a_limit_that_is_switched_off(settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "test.off": None}
    assert all(hit(name="test.off", key="a") is None for _ in range(100))
    assert hit(name="test.unknown", key="a") is None


def test_it_answers_429_with_retry_after(settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "test.thing": "1/h"}
    hit(name="test.thing", key="a")
    limited = hit(name="test.thing", key="a")
    assert limited is not None
    response = too_many_requests(limited)
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert b"test.thing" in response.content


def test_it_trusts_only_the_proxys_own_forwarded_entry(settings):
    settings.BEHIND_PROXY = True
    # The client wrote the first entry; the proxy appended the address it saw.
    assert client_ip(remote_addr="10.0.0.2", forwarded_for="6.6.6.6, 81.2.3.4") == "81.2.3.4"
    settings.BEHIND_PROXY = False
    assert client_ip(remote_addr="81.2.3.4", forwarded_for="6.6.6.6") == "81.2.3.4"


def test_it_counts_an_ipv6_household_as_one_client():
    one = client_ip(remote_addr="2001:db8:1:2:aaaa::1", forwarded_for=None)
    other = client_ip(remote_addr="2001:db8:1:2:bbbb::9", forwarded_for=None)
    assert one == other == "2001:db8:1:2::"


def test_it_groups_ipv6_by_the_prefix_asked_for():
    site = [
        client_ip(remote_addr=address, forwarded_for=None, ipv6_prefix=48)
        for address in ("2001:db8:1:2::1", "2001:db8:1:ffff::9")
    ]
    assert site == ["2001:db8:1::", "2001:db8:1::"]
    assert client_ip(remote_addr="81.2.3.4", forwarded_for=None, ipv6_prefix=48) == "81.2.3.4"


@given(
    remote=st.none() | st.text() | st.ip_addresses().map(str),
    forwarded=st.none() | st.text(),
    prefix=st.integers(min_value=0, max_value=128),
)
@hypothesis.settings(max_examples=200, deadline=None)
def test_it_finds_a_key_for_any_address_header(remote, forwarded, prefix):
    key = client_ip(remote_addr=remote, forwarded_for=forwarded, ipv6_prefix=prefix)
    assert isinstance(key, str)
    address = ipaddress.ip_address(remote) if remote and _is_ip(remote) else None
    if forwarded is None and address is not None and address.version == 6:
        assert ipaddress.ip_address(key) in ipaddress.ip_network(f"{remote}/{prefix}", strict=False)


def _is_ip(text):
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def test_a_local_window_counts_each_key_in_memory_and_starts_afresh(settings):
    from pace.lib.ratelimits import LocalWindow
    from pace.lib.testing import FakeClock

    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "test.local": "3/m"}
    clock = FakeClock()
    window = LocalWindow("test.local", clock=clock)
    assert [window.allow("a") for _ in range(4)] == [True, True, True, False]
    assert window.allow("b"), "another key has its own count"
    clock.elapsed += 60
    assert window.allow("a"), "a new window starts afresh"
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "test.local": None}
    assert all(window.allow("a") for _ in range(10)), "switched off: never refuses"


@given(
    count=st.integers(min_value=1, max_value=10**6),
    multiple=st.one_of(st.just(""), st.integers(min_value=1, max_value=999).map(str)),
    unit=st.sampled_from("smhd"),
)
def test_a_rate_reads_as_django_ratelimit_reads_it(count, multiple, unit):
    from django_ratelimit.core import _split_rate

    from pace.lib.ratelimits import rate_window

    rate = f"{count}/{multiple}{unit}"
    assert rate_window(rate) == _split_rate(rate)
