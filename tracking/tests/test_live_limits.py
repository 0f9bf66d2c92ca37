"""Abuse limits of the live sockets (PROTOCOL.md): new and open sockets per IP, kudos per
spectator across their sockets, posts per athlete across theirs. Each refusal is an
``error`` frame ``rate_limited`` with ``retry_after``; time is moved, never waited for."""

from __future__ import annotations

import importlib
import time
from typing import Any

import hypothesis
import pytest
import time_machine
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from pace.lib.opensockets import FULL_RETRY_SECONDS, OpenSockets
from tracking.fanout.kudos import kudos_batcher
from tracking.fanout.spectators import COOKIE, spectator_id_mint, spectator_id_verified
from tracking.ingest.consumers import HELLO_BURST
from tracking.models import Kudos, Position, Post
from tracking.sim.testrace import load_test_race_create
from tracking.tests.helpers import connect, frame, point, run, send

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def race() -> dict[str, Any]:
    return load_test_race_create(athletes=3)


@pytest.fixture
def limits(settings: Any) -> dict[str, str | None]:
    """Small limits to reach in a test; clients' addresses from X-Forwarded-For."""
    settings.BEHIND_PROXY = True
    settings.RATE_LIMITS = dict(settings.RATE_LIMITS)
    return settings.RATE_LIMITS


def _from(ip: str, cookie: str = "") -> list[tuple[bytes, bytes]]:
    headers = [(b"x-forwarded-for", ip.encode())]
    return headers + ([(b"cookie", cookie.encode())] if cookie else [])


async def answers(client: WebsocketCommunicator, sent: dict[str, Any]) -> list[dict[str, Any]]:
    """The error frames ``sent`` is answered with: a probe after it marks where they end."""
    await send(client, sent)
    await send(client, {"type": "probe"})
    errors: list[dict[str, Any]] = []
    while True:
        got = await frame(client)
        if got["type"] == "error" and got["code"] == "unknown_type":
            return errors
        if got["type"] == "error":
            errors.append(got)


def _refused(errors: list[dict[str, Any]]) -> bool:
    assert all(e["code"] == "rate_limited" and e["retry_after"] >= 1 for e in errors), errors
    return bool(errors)


def test_it_limits_new_sockets_per_ip_on_both_ends_then_lets_them_in_again(race, limits):
    limits["ws.connect.ip"] = "3/m"
    athlete = race["athletes"][0]
    track, live = f"/ws/track/?token={athlete['token']}", f"/ws/live/{race['race_id']}/"

    async def scenario():
        opened = [
            await connect(track, headers=_from("198.51.100.7")),
            await connect(live, headers=_from("198.51.100.7")),
        ]
        for client in opened:
            await frame(client)  # welcome, snapshot
        third = await connect(track, headers=_from("198.51.100.7"))
        assert (await frame(third))["type"] == "welcome", "the third is let in, the fourth not"
        refused = await connect(live, headers=_from("198.51.100.7"))
        error = await frame(refused)
        closed = await refused.receive_output(3)
        await send(refused, {"type": "pos", "seq": 1, "points": [point(time.time())]})
        await refused.receive_nothing(0.3)
        other = await connect(live, headers=_from("203.0.113.9"))
        other_first = await frame(other)
        with time_machine.travel(time.time() + 61):
            later = await connect(track, headers=_from("198.51.100.7"))
            later_first = await frame(later)
        return error, closed, other_first, later_first

    error, closed, other_first, later_first = run(scenario)
    assert error["type"] == "error" and error["code"] == "rate_limited"
    assert 1 <= error["retry_after"] <= 60 and error["limit"] == "ws.connect.ip"
    assert closed == {
        "type": "websocket.close",
        "code": 1013,
        "reason": f"retry={error['retry_after']}",
    }
    assert other_first["type"] == "snapshot", "another IP has its own count"
    assert later_first["type"] == "welcome", "a new minute lets the first IP in again"
    assert Position.objects.count() == 0, "a refused socket takes no frames"


def test_it_caps_the_sockets_one_ip_holds_open_and_frees_a_place_when_one_closes(
    race, limits, settings
):
    """``ws.connect.ip`` limits how fast an IP opens sockets; this, how many it keeps
    (one host held 180,000 after an hour). Counted in the process's memory."""
    settings.TRACKING_MAX_SOCKETS_PER_IP = 2
    athlete = race["athletes"][0]
    track, live = f"/ws/track/?token={athlete['token']}", f"/ws/live/{race['race_id']}/"
    host = _from("198.51.100.30")

    async def scenario():
        phone, tab = await connect(track, headers=host), await connect(live, headers=host)
        firsts = [(await frame(phone))["type"], (await frame(tab))["type"]]
        refused = await connect(live, headers=host)
        error, closed = await frame(refused), await refused.receive_output(3)
        await send(refused, {"type": "follow", "athletes": [athlete["id"]]})
        await refused.receive_nothing(0.3)
        await refused.disconnect()  # a refused socket held no place: still two open
        again = await connect(live, headers=host)
        still_full = (await frame(again))["code"]
        elsewhere = await connect(live, headers=_from("203.0.113.30"))
        other = (await frame(elsewhere))["type"]
        await tab.disconnect()  # closing one frees its place
        later = await connect(live, headers=host)
        return firsts, error, closed, still_full, other, (await frame(later))["type"]

    firsts, error, closed, still_full, other, later = run(scenario)
    assert firsts == ["welcome", "snapshot"]
    assert error["type"] == "error" and error["code"] == "rate_limited"
    assert error["limit"] == "ws.open.ip" and error["retry_after"] == FULL_RETRY_SECONDS
    assert closed == {
        "type": "websocket.close",
        "code": 1013,
        "reason": f"retry={FULL_RETRY_SECONDS}",
    }
    assert still_full == "rate_limited" and other == "snapshot" and later == "snapshot"


@hypothesis.settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b"]), st.booleans()), max_size=40))
def test_open_sockets_count_exactly_what_is_open_and_never_pass_the_cap(steps):
    sockets, held, cap = OpenSockets(), {"a": 0, "b": 0}, 3
    for ip, opening in steps:
        if opening:
            refused = sockets.take(ip=ip, cap=cap)
            assert (refused is not None) == (held[ip] == cap)
            held[ip] += refused is None
        elif held[ip]:
            sockets.release(ip=ip)
            held[ip] -= 1
        assert sockets.by_ip == {k: n for k, n in held.items() if n}


def _session_cookie(user: Any | None) -> str:
    """A spectator's session cookie: logged in as ``user``, or an anonymous session."""
    if user is not None:
        client = Client()
        client.force_login(user)
        key = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    else:
        store = importlib.import_module(django_settings.SESSION_ENGINE).SessionStore()
        store["seen_live"] = True
        store.create()
        key = store.session_key
    return f"{django_settings.SESSION_COOKIE_NAME}={key}"


@pytest.mark.parametrize("who", ["account", "session"])
def test_a_spectator_with_many_sockets_cheers_no_more_than_with_one(race, limits, alice, who):
    limits["kudos.spectator"] = "3/m"
    cookie = _session_cookie(alice if who == "account" else None)
    athlete = race["athletes"][0]["id"]
    cheer = {"type": "kudos", "athlete": athlete}

    async def scenario():
        refusals = []
        for n in range(5):  # each socket's own bucket would let 5 through
            client = await connect(
                f"/ws/live/{race['race_id']}/", headers=_from(f"198.51.100.{n}", cookie)
            )
            await frame(client)
            refusals += [_refused(await answers(client, cheer)) for _ in range(2)]
        await kudos_batcher().flush()
        return refusals

    assert run(scenario) == [False] * 3 + [True] * 7
    assert Kudos.objects.filter(registration_id=athlete).count() == 3


def test_spectators_without_a_session_are_counted_by_ip_then_let_cheer_again(race, limits):
    limits["kudos.ip"] = "4/m"
    athlete = race["athletes"][0]["id"]
    cheer = {"type": "kudos", "athlete": athlete}
    live = f"/ws/live/{race['race_id']}/"

    async def scenario():
        sockets = [await connect(live, headers=_from("198.51.100.20")) for _ in range(3)]
        elsewhere = await connect(live, headers=_from("203.0.113.20"))
        for client in [*sockets, elsewhere]:
            await frame(client)
        same_ip = [_refused(await answers(c, cheer)) for c in sockets for _ in range(2)]
        other_ip = [_refused(await answers(elsewhere, cheer)) for _ in range(2)]
        with time_machine.travel(time.time() + 61):
            later = _refused(await answers(sockets[0], cheer))
        await kudos_batcher().flush()
        return same_ip, other_ip, later

    same_ip, other_ip, later = run(scenario)
    assert same_ip == [False] * 4 + [True] * 2
    assert other_ip == [False, False] and later is False
    assert Kudos.objects.filter(registration_id=athlete).count() == 7


def _cheers(race: dict[str, Any], cookie: str, *, sockets: int, ip: str) -> list[bool]:
    """Each of ``sockets`` sockets sends as many kudos as its own bucket lets through:
    whether each was refused by the shared limits."""
    cheer = {"type": "kudos", "athlete": race["athletes"][0]["id"]}
    burst = django_settings.TRACKING_KUDOS_BURST

    async def scenario():
        refusals = []
        for _ in range(sockets):
            client = await connect(f"/ws/live/{race['race_id']}/", headers=_from(ip, cookie))
            await frame(client)
            refusals += [_refused(await answers(client, cheer)) for _ in range(burst)]
        await kudos_batcher().flush()
        return refusals

    return run(scenario)


def test_leaving_the_spectator_cookie_out_never_gives_more_kudos(race, limits):
    """Twelve sockets without a cookie got 60 kudos past a 30 a minute limit: a socket
    with no account, session nor signed spectator id is counted by its IP, lower."""
    limits["kudos.spectator"] = "3/m"
    limits["kudos.cookieless.ip"] = "2/m"
    browser = f"{COOKIE}={spectator_id_mint()}"
    forged = f"{COOKIE}=someone:not-our-signature"

    with_cookie = _cheers(race, browser, sockets=4, ip="198.51.100.40")
    without = _cheers(race, "", sockets=12, ip="198.51.100.41")
    with_forged = _cheers(race, forged, sockets=3, ip="198.51.100.42")
    other_browser = _cheers(race, f"{COOKIE}={spectator_id_mint()}", sockets=1, ip="198.51.100.40")
    assert with_cookie.count(False) == 3, "one browser across its sockets"
    assert without.count(False) == 2 and with_forged.count(False) == 2
    assert other_browser.count(False) == 3, "another browser behind the same IP cheers too"
    assert Kudos.objects.count() == 3 + 2 + 2 + 3


@hypothesis.settings(max_examples=80, deadline=None)
@given(st.text(max_size=300))
def test_only_an_id_our_page_signed_is_a_spectator(value):
    """A cookie's value is whatever a client sends: never an error, never an id unless
    our key signed it (another id under a real signature is refused too)."""
    assert spectator_id_verified(value) is None
    ident, signature = spectator_id_mint().rsplit(":", 1)
    assert spectator_id_verified(f"{ident}:{signature}") == ident
    assert spectator_id_verified(f"{value}:{signature}") is None or value == ident


def test_the_live_page_gives_each_browser_its_own_signed_id_and_keeps_one_cached_page(race):
    """Set after the cache (in the page's ``per_visitor``): the shared entry holds no
    cookie, a response setting one is private, a browser holding one gets the page as
    everyone does; no database write."""
    url = f"/live/{race['event_slug']}/{race['race_slug']}/"
    page = Client().get(url)
    first, second = Client(), Client()
    answers = [first.get(url), second.get(url)]
    ids = [response.cookies[COOKIE] for response in answers]
    assert page.status_code == 200 and all(r.status_code == 200 for r in answers)
    assert ids[0].value != ids[1].value, "a cached page does not hand one id to all"
    assert all(spectator_id_verified(cookie.value) for cookie in ids)
    assert all(c["httponly"] and c["samesite"] == "Lax" and c["max-age"] for c in ids)
    assert all("private" in r["Cache-Control"] for r in answers)
    back = first.get(url)
    assert COOKIE not in back.cookies and "public" in back["Cache-Control"]
    assert back.content == answers[0].content == answers[1].content


def test_an_athletes_posts_are_limited_across_sockets_then_allowed_again(race, limits):
    limits["post.athlete"] = "2/10m"
    runner, other = race["athletes"][0], race["athletes"][1]

    async def scenario():
        phone = await connect(f"/ws/track/?token={runner['token']}")
        watch = await connect(f"/ws/track/?token={runner['token']}")
        friend = await connect(f"/ws/track/?token={other['token']}")
        for client in (phone, watch, friend):
            await frame(client)
        said = [
            await answers(client, {"type": "post", "text": f"km {n}"})
            for n, client in enumerate((phone, watch, phone, watch))
        ]
        friends = await answers(friend, {"type": "post", "text": "Go!"})
        with time_machine.travel(time.time() + 601):
            later = await answers(watch, {"type": "post", "text": "Finish line!"})
        return said, friends, later

    said, friends, later = run(scenario)
    assert [_refused(errors) for errors in said] == [False, False, True, True]
    assert said[2][0]["limit"] == "post.athlete" and "post.athlete" in said[2][0]["detail"]
    assert friends == [] and later == []
    texts = Post.objects.filter(registration_id=runner["id"]).values_list("text", flat=True)
    assert sorted(texts) == ["Finish line!", "km 0", "km 1"]


def test_a_socket_flooding_follows_or_hellos_is_told_to_wait(race, settings):
    """Each follow costs a snapshot (the whole field), each hello naming a device a
    query: a socket's own bucket refuses a flood without a cache round trip."""
    athletes = [a["id"] for a in race["athletes"]]
    burst = settings.TRACKING_FOLLOW_BURST

    async def scenario():
        viewer = await connect(f"/ws/live/{race['race_id']}/")
        await frame(viewer)
        follows = []
        for n in range(burst + 2):
            await send(viewer, {"type": "follow", "athletes": athletes[n % 3 : n % 3 + 1]})
            follows.append(await frame(viewer))
        phone = await connect(f"/ws/track/?token={race['athletes'][0]['token']}")
        await frame(phone)
        hellos = []
        for n in range(HELLO_BURST + 1):
            await send(phone, {"type": "hello", "device": f"phone {n}"})
            hellos.append(await frame(phone))
        return follows, hellos

    follows, hellos = run(scenario)
    assert [f["type"] for f in follows] == ["snapshot"] * burst + ["error"] * 2
    assert [f["type"] for f in hellos] == ["welcome"] * HELLO_BURST + ["error"]
    for refused, limit in ((follows[-1], "follow"), (hellos[-1], "hello")):
        assert refused["code"] == "rate_limited" and refused["retry_after"] >= 1
        assert refused["limit"] == limit


def test_phones_connect_and_are_acked_while_the_limits_cache_is_down(race, settings):
    """The ack does not depend on Redis (docs/live-tracking.md): nor does connecting,
    now that it is counted there. A limit whose cache fails lets the attempt through."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",  # nothing listens there
        }
    }
    athlete = race["athletes"][0]

    async def scenario():
        phone = await connect(f"/ws/track/?token={athlete['token']}")
        welcome = await frame(phone)
        await send(phone, {"type": "pos", "seq": 1, "points": [point(time.time())]})
        ack = await frame(phone)
        await send(phone, {"type": "post", "text": "No Redis, still running"})
        await phone.receive_nothing(0.3)
        return welcome, ack

    welcome, ack = run(scenario)
    assert welcome["type"] == "welcome" and ack == {"type": "ack", "seq": 1}
    assert Position.objects.filter(registration_id=athlete["id"]).count() == 1
