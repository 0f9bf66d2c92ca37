"""Surges (docs/live-tracking.md "Surges"): snapshots shared per seq, lean snapshots
(``?field=later``), admission without a database query, refusal when overloaded."""

from __future__ import annotations

import json
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.test import Client

from events.models import Event, Race
from events.organizers import membership_add
from events.tests.factories import make_user
from pace.daphne_patches.outlet import text_frame
from pace.lib.wsauth import SessionWhenCookie
from tracking import selectors
from tracking.fanout.mirror import RaceMirror
from tracking.live.livestore import RaceState
from tracking.live.ticker import RaceTicker
from tracking.routing import websocket_urlpatterns
from tracking.sim.testrace import load_test_race_create
from tracking.tests.helpers import connect, frame, frames_until, run, send
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
