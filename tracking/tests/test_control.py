"""Race control (``/control/EVENT/RACE/``, ``/ws/control/RACE_ID/``): who gets in, the
alerts a ticker pushes within two ticks, SOS at once (never to spectators), the safety
e-mails once per incident, and the actions (DNF to the board and results, hide a post,
message athletes, acknowledge an SOS), each checked against the race's organizer.

Tickers are stepped by hand on a ``FakeClock``: the tests move the clock, never sleep.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.conf import settings as django_settings
from django.core import mail
from django.test import Client
from django.urls import reverse

from events.models import Membership, Race
from pace.lib.testing import FakeClock
from tracking.ingest.sos import raise_sos
from tracking.live.livestore import live_store
from tracking.live.ticker import RaceTicker
from tracking.models import Post, RaceMessage, RaceSafety, SosCall, Withdrawal
from tracking.sim.testrace import load_test_race_create
from tracking.tests.helpers import connect, frame, frames_until, run
from tracking.tests.test_live_protocol import Course, move

pytestmark = pytest.mark.django_db(transaction=True)
CONTACTS = ["safety@example.com", "medic@example.com"]


@pytest.fixture
def race(alice: Any, bob: Any, charlie: Any, bravo: Any) -> dict[str, Any]:
    """The test race, its organizer with alice (owner) and bob (staff); charlie owns
    another organizer (Bravo)."""
    data = load_test_race_create(athletes=6)
    race = Race.objects.select_related("event", "course").get(pk=data["race_id"])
    organizer = race.event.organizer
    Membership.objects.create(organizer=organizer, user=alice, role=Membership.Role.OWNER)
    Membership.objects.create(organizer=organizer, user=bob, role=Membership.Role.STAFF)
    RaceSafety.objects.create(race=race, off_course_m=150, contacts="\n".join(CONTACTS))
    data |= {"start": race.start_time.timestamp(), "course": Course(race), "race": race}
    return data


def cookie(user: Any) -> list[tuple[bytes, bytes]]:
    client = Client()
    client.force_login(user)
    key = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    return [(b"cookie", f"{django_settings.SESSION_COOKIE_NAME}={key}".encode())]


def page_url(race: dict[str, Any], name: str = "tracking:control") -> str:
    return reverse(name, args=[race["event_slug"], race["race_slug"]])


def off_course(course: Course, metres: float, by_m: float) -> tuple[float, float]:
    lat, lon = course.at(metres)
    return lat + by_m / 111_195, lon


# --- who gets in ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("who", "page", "act"),
    [("alice", 200, 400), ("bob", 200, 400), ("iris", 200, 400), ("charlie", 404, 404),
     ("dave", 404, 404)],
)  # fmt: skip
def test_only_the_race_organizers_members_open_race_control(race, request, who, page, act):
    client = Client()
    client.force_login(request.getfixturevalue(who))
    got = client.get(page_url(race))
    assert got.status_code == page
    assert client.post(page_url(race, "tracking:control_act"), {"action": "?"}).status_code == act
    if page == 200:
        assert "no-store" in got["Cache-Control"]
        assert b"/ws/control/" in got.content


def test_anonymous_visitors_are_sent_to_log_in(race, client):
    got = client.get(page_url(race))
    assert got.status_code == 302 and got["Location"].startswith(reverse("account_login"))
    assert client.post(page_url(race, "tracking:control_act"), {"action": "dnf"}).status_code == 401


def test_actions_need_the_csrf_token(race, alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    athlete = race["athletes"][0]["id"]
    refused = client.post(
        page_url(race, "tracking:control_act"), {"action": "dnf", "athlete": athlete}
    )
    assert refused.status_code == 403 and not Withdrawal.objects.exists()
    assert client.get(page_url(race, "tracking:control_act")).status_code == 405


def test_the_control_socket_lets_in_only_the_organizers_members(race, alice, charlie, dave):
    path = f"/ws/control/{race['race_id']}/"
    cookies = [[], cookie(charlie), cookie(dave)]
    alices = cookie(alice)

    async def scenario():
        from channels.testing import WebsocketCommunicator

        from tracking.tests.helpers import APP

        refused = []
        for headers in cookies:
            client = WebsocketCommunicator(APP, path, headers=headers)
            connected, code = await client.connect(timeout=5)
            refused.append((connected, code))
        screen = await connect(path, headers=alices)
        return refused, await frame(screen)

    refused, snapshot = run(scenario)
    assert refused == [(False, 4403)] * 3
    assert snapshot == {"type": "snapshot", "alerts": [], "sos": [], "withdrawn": []}


# --- alerts -----------------------------------------------------------------------------
def test_an_athlete_off_course_reaches_race_control_within_two_ticks_and_is_mailed_once(
    race, alice
):
    race_id, ids, course = race["race_id"], [a["id"] for a in race["athletes"]], race["course"]
    clock = FakeClock(race["start"] + 600)
    mail.outbox.clear()
    alices = cookie(alice)

    async def scenario():
        ticker = RaceTicker(race_id, clock=clock)
        await move(race_id, course, {a: 1500 for a in ids}, clock.time())
        await ticker.step(clock.time())
        screen = await connect(f"/ws/control/{race_id}/", headers=alices)
        snapshot = await frame(screen)
        lat, lon = off_course(course, 1600, 600)
        await clock.advance(1)
        await live_store().publish_fixes(race_id, [_fix(ids[0], clock.time(), lat, lon)])
        seen = []
        for _ in range(2):  # two ticks at most
            await ticker.step(clock.time())
            seen += [f for f in await _frames(screen) if f["type"] == "alerts"]
            await clock.advance(1)
            if any(a["kind"] == "off_course" for f in seen for a in f["alerts"]):
                break
        mails_after_first = len(mail.outbox)
        for n in range(5):  # still off course, a few metres either way
            lat2, lon2 = off_course(course, 1600, 590 + 5 * n)
            await live_store().publish_fixes(race_id, [_fix(ids[0], clock.time(), lat2, lon2)])
            await ticker.step(clock.time())
            await clock.advance(1)
        return snapshot, seen, mails_after_first

    snapshot, seen, mails_after_first = run(scenario)
    assert snapshot["type"] == "snapshot"
    alert = next(a for f in seen for a in f["alerts"] if a["kind"] == "off_course")
    assert alert["athlete"] == ids[0] and alert["bib"] == race["athletes"][0]["bib"]
    assert 500 < int(alert["detail"].split()[0]) < 700
    assert alert["lat"] and alert["lon"] and alert["t"] == pytest.approx(race["start"] + 601)
    assert mails_after_first == 1 and len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sorted(sent.to) == sorted(CONTACTS) and "off course" in sent.subject
    assert "openstreetmap.org/?mlat=" in sent.body and "Emergency contact: -, -" in sent.body
    assert page_url(race) in sent.body


def _fix(athlete: int, t: float, lat: float, lon: float) -> Any:
    from tracking.live.engine import Fix

    return Fix(athlete, t, lat, lon)


async def _frames(client: Any) -> list[dict[str, Any]]:
    """Every frame the socket has now (none waited for)."""
    out = []
    while not await client.receive_nothing(timeout=0.2):
        out.append(await frame(client))
    return out


# --- SOS ----------------------------------------------------------------------------------
def test_an_sos_shows_on_race_control_at_once_never_to_spectators_and_is_acknowledged(race, alice):
    race_id, athlete = race["race_id"], race["athletes"][1]["id"]
    mail.outbox.clear()
    alices = cookie(alice)

    async def scenario():
        ticker = RaceTicker(race_id, clock=FakeClock(race["start"] + 60))
        await ticker.step(race["start"] + 60)
        screen = await connect(f"/ws/control/{race_id}/", headers=alices)
        await frame(screen)
        spectator = await connect(f"/ws/live/{race_id}/")
        await frame(spectator)
        await database_sync_to_async(raise_sos)(
            registration_id=athlete, race_id=race_id, text="Twisted ankle", lat=45.1, lon=6.1
        )
        sos = await frames_until(screen, "sos")
        spectators_got = await _frames(spectator)
        return sos[-1], spectators_got

    sos, spectators_got = run(scenario)
    assert sos["registration"] == athlete and sos["text"] == "Twisted ankle"
    assert sos["lat"] == 45.1 and sos["bib"] == race["athletes"][1]["bib"]
    assert all("sos" not in f["type"] and "Twisted" not in str(f) for f in spectators_got)
    assert len(mail.outbox) == 1 and mail.outbox[0].subject.startswith("SOS: ")
    assert "Twisted ankle" in mail.outbox[0].body
    # Open calls are in a new screen's snapshot until acknowledged.
    client = Client()
    client.force_login(alice)
    call = SosCall.objects.get()
    answer = client.post(page_url(race, "tracking:control_act"), {"action": "ack", "sos": call.pk})
    assert answer.json() == {"ok": True, "sos": call.pk}
    call.refresh_from_db()
    assert call.acknowledged_by == alice and call.acknowledged_at is not None
    told = RaceMessage.objects.get()
    assert told.registration_id == athlete and "SOS" in told.text


# --- actions ------------------------------------------------------------------------------
def test_marking_dnf_reaches_the_board_within_a_few_seconds_with_who_and_when(race, alice):
    race_id, athlete = race["race_id"], race["athletes"][2]["id"]
    client = Client()
    client.force_login(alice)
    act = page_url(race, "tracking:control_act")
    clock = FakeClock(race["start"] + 60)

    def mark(**extra: str) -> Any:
        return client.post(act, {"action": "dnf", "athlete": athlete, **extra})

    async def scenario():
        ticker = RaceTicker(race_id, clock=clock)
        await move(race_id, race["course"], {athlete: 300}, clock.time())
        before = dict((await ticker.step(clock.time())).changed)
        answer = await database_sync_to_async(mark)(reason="Retired at the aid station")
        statuses = []
        for _ in range(3):  # ticks a second apart: the ticker asks every 2 s
            await clock.advance(1)
            await move(race_id, race["course"], {athlete: 310}, clock.time())
            changed = dict((await ticker.step(clock.time())).changed)
            statuses.append(json.loads(changed[athlete])["status"] if athlete in changed else None)
        return before, answer, statuses

    before, answer, statuses = run(scenario)
    assert json.loads(before[athlete])["status"] == "racing"
    assert answer.status_code == 200 and answer.json()["athlete"] == athlete
    assert "dnf" in statuses[:2]  # within two seconds, not at the 10 s roster refresh
    withdrawal = Withdrawal.objects.get()
    assert withdrawal.by == alice and withdrawal.reason == "Retired at the aid station"
    assert mark().status_code == 200 and Withdrawal.objects.count() == 1  # once


def test_an_athlete_of_another_race_or_a_post_of_another_race_is_refused(race, alice, bravo_event):
    other_race = bravo_event.races.get()
    other = load_test_race_create(athletes=1)  # an athlete posting in another race below
    client = Client()
    client.force_login(alice)
    act = page_url(race, "tracking:control_act")
    stranger = Post.objects.create(
        race=other_race,
        registration_id=other["athletes"][0]["id"],
        text="not yours",
    )
    for data in (
        {"action": "dnf", "athlete": 0},
        {"action": "dnf", "athlete": "x"},
        {"action": "hide", "post": stranger.pk},
        {"action": "message", "text": "hi", "athlete": 10**9},
        {"action": "message", "text": ""},
        {"action": "ack", "sos": 10**9},
        {"action": "nope"},
    ):
        answer = client.post(act, data)
        assert answer.status_code == 400 and answer.json()["error"], data
    stranger.refresh_from_db()
    assert not stranger.hidden and not Withdrawal.objects.exists()


def test_hiding_a_post_and_messaging_athletes(race, alice):
    athlete = race["athletes"][3]["id"]
    post = Post.objects.create(race_id=race["race_id"], registration_id=athlete, text="Rude")
    client = Client()
    client.force_login(alice)
    act = page_url(race, "tracking:control_act")
    assert client.post(act, {"action": "hide", "post": post.pk}).json() == {
        "ok": True,
        "post": post.pk,
    }
    post.refresh_from_db()
    assert post.hidden
    one = client.post(act, {"action": "message", "text": "Storm at 15:00", "athlete": athlete})
    everyone = client.post(act, {"action": "message", "text": "Course shortened"})
    assert one.json()["to"] == athlete and everyone.json()["to"] is None
    sent = RaceMessage.objects.order_by("pk")
    assert [(m.registration_id, m.text, m.sent_by) for m in sent] == [
        (athlete, "Storm at 15:00", alice), (None, "Course shortened", alice)
    ]  # fmt: skip


def test_a_hidden_post_leaves_the_screens_of_spectators_watching(race, alice):
    """Race control hides a post: every spectator connected gets ``post_hidden`` with its
    id (the page removes it); a new snapshot no longer holds it."""
    from tracking.control.actions import post_hide
    from tracking.tests.helpers import send

    athlete = race["athletes"][2]

    async def scenario() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        spectator = await connect(f"/ws/live/{race['race_id']}/")
        await frame(spectator)  # snapshot
        phone = await connect(f"/ws/track/?token={athlete['token']}")
        await frame(phone)  # welcome
        await send(phone, {"type": "post", "text": "Rude"})
        shown = (await frames_until(spectator, "post"))[-1]
        await database_sync_to_async(post_hide)(race=race["race"], post_id=shown["id"])
        hidden = (await frames_until(spectator, "post_hidden"))[-1]
        late = await connect(f"/ws/live/{race['race_id']}/")
        snapshot = await frame(late)
        for client in (spectator, phone, late):
            await client.disconnect()
        return shown, hidden, snapshot

    shown, hidden, snapshot = run(scenario)
    assert shown["text"] == "Rude"
    assert hidden == {"type": "post_hidden", "id": shown["id"]}
    assert Post.objects.get(pk=shown["id"]).hidden
    assert all(p["id"] != shown["id"] for p in snapshot.get("posts", []))


def test_a_member_removed_from_the_organizer_loses_the_control_socket(race, alice, bob):
    """Removed (or deactivated) while watching: the screen is closed with 4403 at once,
    and others' screens stay open."""
    path = f"/ws/control/{race['race_id']}/"
    bobs, alices = cookie(bob), cookie(alice)

    async def scenario() -> tuple[Any, Any, bool]:
        staff = await connect(path, headers=bobs)
        owner = await connect(path, headers=alices)
        await frame(staff), await frame(owner)  # snapshots
        await database_sync_to_async(Membership.objects.filter(user=bob).delete)()
        closed = await staff.receive_output(timeout=5)
        untouched = await owner.receive_nothing(0.3)
        # The owner deactivated: the same.
        alice.is_active = False
        await database_sync_to_async(alice.save)()
        return closed, await owner.receive_output(timeout=5), untouched

    closed, owner_closed, untouched = run(scenario)
    assert closed == {"type": "websocket.close", "code": 4403}
    assert owner_closed == {"type": "websocket.close", "code": 4403}
    assert untouched


def test_the_control_socket_checks_access_again_every_so_often(race, bob, bravo, monkeypatch):
    """A change no signal tells of (a queryset update moving the membership elsewhere)
    is caught by the periodic check."""
    from tracking.control import access
    from tracking.control.consumers import ControlConsumer

    clock = FakeClock()
    monkeypatch.setattr(ControlConsumer, "clock", clock)
    path = f"/ws/control/{race['race_id']}/"
    bobs = cookie(bob)

    async def scenario() -> tuple[bool, Any]:
        staff = await connect(path, headers=bobs)
        await frame(staff)
        await clock.sleeping()
        await clock.advance(access.RECHECK_SECONDS)  # still a member: nothing happens
        kept = await staff.receive_nothing(0.3)
        await clock.sleeping()
        await database_sync_to_async(Membership.objects.filter(user=bob).update)(organizer=bravo)
        await clock.advance(access.RECHECK_SECONDS)
        return kept, await staff.receive_output(timeout=5)

    kept, closed = run(scenario)
    assert kept
    assert closed == {"type": "websocket.close", "code": 4403}
