"""Surges (docs/live-tracking.md "Surges"): snapshots shared per seq, lean snapshots
(``?field=later``), admission without a database query, refusal when overloaded."""

from __future__ import annotations

import asyncio
import json
import random
import time
from typing import Any

import pytest
import websockets
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.test import Client
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin

from events.models import Event, Race
from events.organizers import membership_add
from events.tests.factories import make_user
from pace.daphne_patches.outlet import text_frame
from pace.lib import opensockets
from pace.lib.opensockets import Admission, OpenSockets
from pace.lib.testing import FakeClock
from pace.lib.wsauth import SessionWhenCookie
from tracking import selectors
from tracking.fanout import consumers
from tracking.fanout.mirror import RaceMirror
from tracking.live.livestore import RaceState
from tracking.live.ticker import RaceTicker
from tracking.routing import websocket_urlpatterns
from tracking.sim.testrace import load_test_race_create
from tracking.tests.helpers import connect, frame, frames_until, run, send
from tracking.tests.serving import daphne_server, migrated_db, sqlite_env
from tracking.tests.test_live_protocol import Course, move


def _mirror(athletes: int, *, posts: list[str] | None = None, seq: int = 7) -> RaceMirror:
    """A race of ``athletes`` at ``seq``, the first ten leading; names not all ASCII."""
    mirror = RaceMirror()
    states = {a: json.dumps({"id": a, "name": f"Zoë {a}", "distance": a}) for a in range(athletes)}
    field = {a: f'[{a},45.1,6.2,{a},"racing"]' for a in range(athletes)}
    meta = {"seq": seq, "t": 12.5, "leaders": list(range(10)), "race": {"athletes": athletes}}
    mirror.reset(RaceState(meta=meta, states=states, field=field, posts=posts or []))
    return mirror


@pytest.mark.parametrize("athletes", [0, 3, 400, 5000])  # frames of every header length
def test_a_snapshots_bytes_are_its_text_framed_whoever_it_is_for(athletes):
    mirror = _mirror(athletes, posts=['{"type":"post","text":"allez ✓"}'])
    race = {"id": 1, "name": "Trail des Crêtes"}
    for follows, interval in (([], None), ([11, 3], None), ([], 5), ([12], 30)):
        text, framed = mirror.snapshot(race, follows, interval)
        assert text == mirror.snapshot_frame(race, follows, interval)
        assert framed == text_frame(text)
        snapshot = json.loads(text)
        assert len(snapshot["field"]) == athletes and snapshot["seq"] == 7


def test_default_viewers_of_one_seq_share_one_snapshot_and_the_next_seq_gets_a_new_one():
    mirror = _mirror(50)
    race = {"id": 1, "name": "R"}
    first = mirror.snapshot(race, [], None)
    again = mirror.snapshot(dict(race), [], None)  # another consumer's equal race info
    assert again[0] is first[0] and again[1] is first[1]
    assert mirror.snapshot({"id": 1, "name": "Other"}, [], None)[0] != first[0]
    mirror.add_post('{"type":"post","text":"new"}')
    assert json.loads(mirror.snapshot(race, [], None)[0])["posts"] == [
        {"type": "post", "text": "new"}
    ]
    mirror.seq += 1
    assert json.loads(mirror.snapshot(race, [], None)[0])["seq"] == 8


def test_a_lean_snapshot_carries_the_focus_field_entries_only():
    mirror = _mirror(5000)
    race = {"id": 1, "name": "R", "field_url": "/live/e/r/field.json"}
    full_text, _ = mirror.snapshot(race, [4000], None)
    lean_text, lean_framed = mirror.snapshot(race, [4000], None, lean=True)
    assert lean_framed == text_frame(lean_text)
    lean, full = json.loads(lean_text), json.loads(full_text)
    assert [e[0] for e in lean["field"]] == [*range(10), 4000]
    assert lean["athletes"] == full["athletes"] and lean["seq"] == full["seq"]
    assert lean["race"]["field_url"] == "/live/e/r/field.json"
    # Below 2 % of the full snapshot at 5,000 athletes.
    assert len(lean_framed) * 50 < len(full_text)


pytestmark_db = pytest.mark.django_db(transaction=True)


@pytest.fixture
def race() -> dict[str, Any]:
    data = load_test_race_create(athletes=30)
    data["start"] = Race.objects.get(pk=data["race_id"]).start_time.timestamp()
    return data


@pytestmark_db
def test_a_lean_viewer_gets_its_focus_and_the_field_url_then_field_frames(race):
    race_id, ids = race["race_id"], [a["id"] for a in race["athletes"]]
    course = Course(Race.objects.select_related("course").get(pk=race_id))
    t0 = race["start"] + 60

    async def scenario():
        ticker = RaceTicker(race_id)
        await move(race_id, course, {ids[0]: 300, ids[1]: 250}, t0)
        await ticker.step(t0)
        lean = await connect(f"/ws/live/{race_id}/?field=later")
        old = await connect(f"/ws/live/{race_id}/?field=now")  # any other value: as before
        snapshots = [await frame(lean), await frame(old)]
        await send(lean, {"type": "follow", "athletes": [ids[20]]})
        snapshots.append(await frame(lean))
        await move(race_id, course, {ids[0]: 600, ids[25]: 100}, t0 + 60)
        await ticker.step(t0 + 60)
        return snapshots, await frames_until(lean, "field")

    (lean, old, followed), (_, field) = run(scenario)
    leaders = [a["id"] for a in lean["athletes"]]
    assert sorted(e[0] for e in lean["field"]) == sorted(leaders)
    assert len(old["field"]) == 30 and "field_url" not in old["race"]
    event = Race.objects.select_related("event").get(pk=race_id)
    url = f"/live/{event.event.slug}/{event.slug}/field.json"
    assert lean["race"]["field_url"] == url and followed["race"]["field_url"] == url
    assert sorted(e[0] for e in followed["field"]) == sorted({*leaders, ids[20]})
    assert field["seq"] == 2 and sorted(e[0] for e in field["field"]) == sorted([ids[0], ids[25]])


# --- admission: what a socket costs before its snapshot ---------------------------------

APP = SessionWhenCookie(URLRouter(websocket_urlpatterns))


async def _open(path: str, cookie: str = "") -> tuple[Any, Any]:
    """A socket through the server's own session stack: (close code or None, first frame)."""
    headers = [(b"cookie", cookie.encode())] if cookie else []
    client = WebsocketCommunicator(APP, path, headers=headers)
    connected, code = await client.connect(timeout=5)
    if not connected:
        return code, None
    first = await frame(client, timeout=5)
    await client.disconnect()
    return None, first


def test_a_cookie_less_socket_is_the_anonymous_user_without_a_session_lookup():
    seen: list[dict] = []

    async def inner(scope, receive, send):
        seen.append(scope)

    async def scenario():
        headers = [(b"cookie", b"pace_spectator=abc; other=1")]
        await SessionWhenCookie(inner)({"type": "websocket", "headers": headers}, None, None)

    run(scenario)
    (scope,) = seen
    assert isinstance(scope["user"], AnonymousUser) and "session" not in scope
    assert scope["cookies"] == {"pace_spectator": "abc", "other": "1"}


@pytestmark_db
def test_spectators_of_a_public_race_open_sockets_with_no_database_hop(race, monkeypatch):
    """The race is read once (then remembered for seconds); every later socket opens with
    no call to the database thread: no session, no user, no race lookup."""
    hops: list[str] = []
    real = database_sync_to_async.__call__

    def counted(self, *args, **kwargs):
        hops.append(getattr(self.func, "__name__", repr(self.func)))
        return real(self, *args, **kwargs)

    async def scenario():
        first = await _open(f"/ws/live/{race['race_id']}/")
        monkeypatch.setattr(database_sync_to_async, "__call__", counted)
        later = [await _open(f"/ws/live/{race['race_id']}/") for _ in range(3)]
        return first, later

    first, later = run(scenario)
    assert first[1]["type"] == "snapshot" and all(f["type"] == "snapshot" for _, f in later)
    assert hops == []


@pytestmark_db
def test_a_race_read_a_while_ago_opens_sockets_at_once_and_is_read_again_beside(race, monkeypatch):
    """Past its seconds, a remembered public race still opens a spectator's socket with no
    hop on the socket's way, while one re-read runs beside; a race made a draft meanwhile
    refuses the sockets opened after that re-read."""
    race_id = race["race_id"]
    hops: list[str] = []
    real = database_sync_to_async.__call__

    def counted(self, *args, **kwargs):
        hops.append(getattr(self.func, "__name__", repr(self.func)))
        return real(self, *args, **kwargs)

    def age(seconds: float) -> None:
        read_at, found = selectors._watchable[race_id]
        selectors._watchable[race_id] = (read_at - seconds, found)

    async def scenario():
        await _open(f"/ws/live/{race_id}/")  # read, remembered
        age(selectors.WATCHABLE_CACHE_SECONDS + 1)
        await database_sync_to_async(Event.objects.filter(races__pk=race_id).update)(
            status=Event.Status.DRAFT
        )
        monkeypatch.setattr(database_sync_to_async, "__call__", counted)
        stale = await _open(f"/ws/live/{race_id}/")
        on_the_way = list(hops)
        await asyncio.gather(*consumers._rereads)
        return stale, on_the_way, await _open(f"/ws/live/{race_id}/")

    stale, on_the_way, after = run(scenario)
    assert stale[1]["type"] == "snapshot"  # served as remembered, published
    assert on_the_way == ["reread_watchable"]  # the re-read, beside the socket
    assert after == (4404, None)  # read again as a draft: refused
    assert hops.count("reread_watchable") == 1


def test_a_race_remembered_too_long_ago_is_not_served_as_it_was():
    selectors._watchable[7] = (time.monotonic() - selectors.WATCHABLE_STALE_SECONDS, None)
    assert selectors.public_race_remembered(race_id=7) is None
    assert selectors.claim_reread(race_id=7) and not selectors.claim_reread(race_id=7)


@pytestmark_db
def test_a_draft_race_still_needs_its_organizers_session_or_a_family_link(race):
    race_obj = Race.objects.select_related("event").get(pk=race["race_id"])
    organizer = make_user("org")
    membership_add(organizer=race_obj.event.organizer, user=organizer, role="owner")
    browser = Client()
    browser.force_login(organizer)
    cookie = f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}"
    path = f"/ws/live/{race_obj.pk}/"
    assert run(lambda: _open(path))[1]["type"] == "snapshot"  # published: remembered
    Event.objects.filter(pk=race_obj.event_id).update(status=Event.Status.DRAFT)
    selectors._watchable.clear()  # a process that reads the race after it became a draft
    assert run(lambda: _open(path)) == (4404, None)
    assert run(lambda: _open(path))[0] == 4404  # remembered as a draft: read again, refused
    assert run(lambda: _open(path, cookie))[1]["type"] == "snapshot"
    assert run(lambda: _open(path, "sessionid=forged"))[0] == 4404


# --- overload: refusing new sockets, never the served ones ------------------------------


def _waits(gate: Admission, n: int, rng: random.Random, *, athlete: bool = False) -> list[int]:
    """The waits ``n`` new sockets are told in a row (each must be refused)."""
    waits = [gate.retry_after(athlete=athlete, rng=rng) for _ in range(n)]
    assert all(wait is not None for wait in waits)
    return [wait for wait in waits if wait is not None]


def test_the_loops_lag_is_smoothed_and_an_overdue_timer_counts_at_once():
    clock = FakeClock()
    gate = Admission(clock)
    gate.note(0.4)  # one long tick
    assert gate.lag() == pytest.approx(0.1)
    for _ in range(4):
        gate.note(0.0)
    assert gate.lag() < 0.04  # it was one tick, not an overload
    for _ in range(12):
        gate.note(1.0)  # the loop runs a second behind, again and again
    assert gate.lag() > 0.95
    gate.late, gate.due = 0.0, clock.monotonic()
    clock.elapsed += 3.0  # the timer is overdue: the loop is busy right now
    assert gate.lag() == pytest.approx(0.75)


def test_spectators_are_refused_before_athletes_with_a_retry_spread_with_the_overload(settings):
    settings.TRACKING_ADMIT_LAG_SECONDS, settings.TRACKING_ADMIT_ATHLETE_LAG_SECONDS = 0.5, 2.0
    settings.TRACKING_ADMIT_OPENING, settings.TRACKING_ADMIT_ATHLETE_OPENING = 100, 400
    settings.TRACKING_ADMIT_RETRY_MAX_SECONDS = 30
    gate = Admission(FakeClock())
    rng = random.Random(15)
    assert gate.retry_after(athlete=False) is None and gate.retry_after(athlete=True) is None
    gate.recent_admitted = 100.0  # sockets arriving at 10 a second: a surge
    gate.late = 1.0  # twice the spectators' threshold, half the athletes'
    waits = _waits(gate, 8, rng)
    assert all(1 <= wait <= 8 for wait in waits) and len(set(waits)) > 2  # 2 x 2 s x load 2
    assert gate.retry_after(athlete=True) is None
    gate = Admission(FakeClock())
    gate.recent_admitted = 100.0
    gate.opening = 150
    assert gate.retry_after(athlete=False, rng=rng) in range(1, 7)
    assert gate.retry_after(athlete=True) is None
    gate.late = 100.0  # far over: the window stops at the longest wait
    assert max(_waits(gate, 200, rng, athlete=True)) == 30
    settings.TRACKING_ADMIT_LAG_SECONDS = settings.TRACKING_ADMIT_OPENING = 0  # not checked
    assert gate.retry_after(athlete=False) is None


def test_a_storms_refused_clients_are_spread_over_what_the_process_admits(settings):
    """A process admitting 20 sockets a second that refused 300 lately spreads the next
    refused over 15 s, though its overload alone would say 1-4 s."""
    settings.TRACKING_ADMIT_LAG_SECONDS, settings.TRACKING_ADMIT_RETRY_MAX_SECONDS = 0.5, 60
    clock = FakeClock()
    gate, rng = Admission(clock), random.Random(3)
    for _ in range(200):  # 10 s at 20 a second
        clock.elapsed += 0.05
        assert gate.retry_after(athlete=False) is None
    gate.late = 0.5
    waits = _waits(gate, 300, rng)
    assert max(waits[:5]) <= 4 and max(waits[-50:]) > 12
    assert 14 <= max(waits) <= 25
    clock.elapsed += 60  # a minute later the storm is forgotten: the next one's first
    waits = []  # refused wait what the overload alone says
    for _ in range(100):  # 50 a second for 2 s
        clock.elapsed += 0.02
        if (wait := gate.retry_after(athlete=False, rng=rng)) is not None:
            waits.append(wait)
    assert waits and max(waits[:3]) <= 4


def test_the_lag_turns_sockets_away_only_while_they_arrive(settings):
    """A loop lagging under its phones' fixes is not relieved by refusing the odd
    spectator: the lag counts once sockets arrive at TRACKING_ADMIT_LAG_ARRIVALS a second
    (a start gun, a reconnect storm), and no longer once they stop."""
    settings.TRACKING_ADMIT_LAG_SECONDS, settings.TRACKING_ADMIT_LAG_ARRIVALS = 0.5, 5.0
    clock = FakeClock()
    gate = Admission(clock)
    gate.late = 2.0  # four times the threshold, the whole time
    for _ in range(20):  # a spectator every 3 s: every one served
        clock.elapsed += 3.0
        assert gate.retry_after(athlete=False) is None
    refused = []
    for _ in range(100):  # a surge: 50 a second; refusals begin within the first second
        clock.elapsed += 0.02
        refused.append(gate.retry_after(athlete=False) is not None)
    assert not any(refused[:3]) and all(refused[50:])
    clock.elapsed += 60  # long after the surge, the odd one is served again
    assert gate.retry_after(athlete=False) is None
    settings.TRACKING_ADMIT_LAG_ARRIVALS = 0  # 0: the lag counts whatever the arrivals
    assert gate.retry_after(athlete=False) is not None


@pytestmark_db
def test_an_overloaded_process_refuses_new_spectators_not_athletes_nor_served_viewers(race):
    race_id, token = race["race_id"], race["athletes"][0]["token"]

    async def scenario():
        gate = Admission(FakeClock())  # its lag moves only when the test says
        opensockets._by_loop[asyncio.get_running_loop()] = (OpenSockets(), gate)
        served = await connect(f"/ws/live/{race_id}/")
        await frame(served)
        gate.recent_admitted = 100.0  # sockets arriving at 10 a second: a surge
        gate.note(4.0)  # the loop ran 4 s late: smoothed, 1 s, over spectators' 0.5 s
        refused = WebsocketCommunicator(APP, f"/ws/live/{race_id}/")
        await refused.connect(timeout=5)
        closed = await refused.receive_output(timeout=5)
        phone = await connect(f"/ws/track/?token={token}")
        welcome = await frame(phone)
        await send(served, {"type": "follow", "athletes": [race["athletes"][1]["id"]]})
        return closed, welcome, await frame(served), gate

    closed, welcome, snapshot, gate = run(scenario)
    assert closed["type"] == "websocket.close" and closed["code"] == 1013
    assert 1 <= int(closed["reason"].removeprefix("retry=")) <= 8
    assert welcome["type"] == "welcome" and snapshot["type"] == "snapshot"
    assert gate.refused == 1 and gate.opening == 0


async def _upgrade(url: str, path: str) -> bytes:
    """The head of the server's answer to an upgrade request without an Origin (an app)."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    writer.close()
    return head


def test_a_real_daphne_refuses_apps_with_503_and_browsers_with_1013_and_serves_athletes(tmp_path):
    """Spectators' threshold below any loop's lag, athletes' not checked: every new
    spectator is refused, each the way it can read, while phones are served."""
    env = sqlite_env(migrated_db(tmp_path / "db.sqlite3"))
    env |= {"TRACKING_ADMIT_LAG_SECONDS": "0.0000001", "TRACKING_ADMIT_ATHLETE_LAG_SECONDS": "0"}
    env |= {"TRACKING_ADMIT_LAG_ARRIVALS": "0"}  # the lag counts for the first arrival
    with daphne_server(tmp_path, env=env) as server:
        race = server.test_race(2)
        ws_url = server.url.replace("http", "ws")

        async def scenario():
            async with websockets.connect(
                f"{ws_url}/ws/track/?token={race['athletes'][0]['token']}"
            ) as ws:
                await asyncio.sleep(0.5)  # the lag timer has fired: the loop is "late"
                head = await _upgrade(server.url, f"/ws/live/{race['race_id']}/")
                try:
                    async with websockets.connect(
                        f"{ws_url}/ws/live/{race['race_id']}/", origin=Origin(server.url)
                    ) as browser:
                        await asyncio.wait_for(browser.recv(), 10)
                    closed = None
                except ConnectionClosed as error:
                    closed = error.rcvd
                return json.loads(await asyncio.wait_for(ws.recv(), 10)), head, closed

        welcome, head, closed = run(scenario)
        log = (tmp_path / "daphne.log").read_text()
    assert welcome["type"] == "welcome"
    assert head.startswith(b"HTTP/1.1 503 ")
    retry = [line for line in head.split(b"\r\n") if line.lower().startswith(b"retry-after:")]
    assert len(retry) == 1 and 1 <= int(retry[0].split(b":")[1]) <= 30
    assert closed is not None and closed.code == 1013 and closed.reason.startswith("retry=")
    for trouble in ("Traceback", "took too long", "closed protocol"):
        assert trouble not in log
