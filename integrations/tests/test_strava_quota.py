from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from integrations.strava.quota import (
    Quota,
    QuotaSpentError,
    next_midnight,
    next_window,
    window_start,
)
from pace.lib.testing import FakeClock


def ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("now", "window", "reset"),
    [
        ("2026-12-01T10:44:59.999", "2026-12-01T10:30:00", "2026-12-01T10:45:00"),
        ("2026-12-01T10:45:00", "2026-12-01T10:45:00", "2026-12-01T11:00:00"),
        ("2026-12-01T10:59:59", "2026-12-01T10:45:00", "2026-12-01T11:00:00"),
        ("2026-12-01T23:59:59.5", "2026-12-01T23:45:00", "2026-12-02T00:00:00"),
        ("2026-12-02T00:00:00", "2026-12-02T00:00:00", "2026-12-02T00:15:00"),
    ],
)
def test_it_puts_windows_on_the_quarter_hours(now: str, window: str, reset: str) -> None:
    assert window_start(ts(now)) == ts(window)
    assert next_window(ts(now)) == ts(reset)


def test_it_resets_the_day_at_midnight_utc() -> None:
    assert next_midnight(ts("2026-12-01T23:59:59.999")) == ts("2026-12-02T00:00:00")
    assert next_midnight(ts("2026-12-02T00:00:00")) == ts("2026-12-03T00:00:00")


@given(st.floats(min_value=0, max_value=4e9))
def test_its_window_holds_the_moment(t: float) -> None:
    assert window_start(t) <= t < next_window(t) and next_window(t) % 900 == 0


def test_it_refuses_the_101st_read_of_a_window_until_the_next(clock: FakeClock) -> None:
    quota = Quota(clock=clock)
    for _ in range(100):
        quota.acquire(read=True)
    with pytest.raises(QuotaSpentError) as refused:
        quota.acquire(read=True)
    assert refused.value.reset_at == ts("2026-12-01T10:45:00")
    assert quota.blocked_until(read=True) == ts("2026-12-01T10:45:00")
    quota.acquire(read=False)  # the overall limit (200) still has room for a write
    clock.elapsed += 5 * 60  # 10:45: a new window
    quota.acquire(read=True)
    assert quota.usage().read == (1, 101)


def test_it_waits_for_midnight_once_the_day_is_spent(clock: FakeClock, settings) -> None:
    settings.STRAVA_READ_LIMITS = (100, 150)
    quota = Quota(clock=clock)
    for _ in range(100):
        quota.acquire(read=True)
    clock.elapsed += 5 * 60
    for _ in range(50):
        quota.acquire(read=True)
    with pytest.raises(QuotaSpentError) as refused:
        quota.acquire(read=True)
    assert refused.value.reset_at == ts("2026-12-02T00:00:00")


def test_it_catches_up_with_strava_s_usage_and_limits(clock: FakeClock) -> None:
    quota = Quota(clock=clock)
    window = quota.acquire(read=True)
    quota.record(
        {
            "X-RateLimit-Limit": "300,3000",
            "X-RateLimit-Usage": "80,500",
            "X-ReadRateLimit-Limit": "150,1500",
            "X-ReadRateLimit-Usage": "70,400",
        },
        window=window,
    )
    usage = quota.usage()
    assert usage.read == (70, 400) and usage.overall == (80, 500)
    assert usage.limits.read == (150, 1500) and usage.limits.overall == (300, 3000)
    quota.record({"X-ReadRateLimit-Usage": "3,3"}, window=window)  # never counts down
    assert quota.usage().read == (70, 400)


def test_a_429_pauses_everyone_until_the_window_resets(clock: FakeClock) -> None:
    quota = Quota(clock=clock)
    until = quota.pause(headers={"X-RateLimit-Usage": "201,900", "X-RateLimit-Limit": "200,2000"})
    assert until == ts("2026-12-01T10:45:00")
    with pytest.raises(QuotaSpentError):
        Quota(clock=clock).acquire(read=False)  # another worker
    clock.elapsed += 5 * 60
    Quota(clock=clock).acquire(read=False)


def test_a_429_with_the_day_spent_pauses_until_midnight(clock: FakeClock) -> None:
    until = Quota(clock=clock).pause(
        headers={"X-ReadRateLimit-Usage": "20,1000", "X-ReadRateLimit-Limit": "100,1000"}
    )
    assert until == ts("2026-12-02T00:00:00")
