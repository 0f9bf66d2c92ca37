"""The tracker socket's race-day frames (PROTOCOL.md §1): ``sos`` to race control,
race control's ``message`` to athletes, ``post`` to spectators, the athlete's ``state``
with its gap, and the device's first fix for the tracker page."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from pace.lib.testing import wait_until
from tracking.ingest.race_messages import send_message_to_athletes
from tracking.ingest.sos import raise_sos
from tracking.live.groups import control_group, race_group
from tracking.models import Position, RaceMessage, SosCall
from tracking.signals import sos_raised
from tracking.sim.testrace import load_test_race_create
from tracking.tests.helpers import connect, frame, frames_until, outbox_written, point, run, send

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def race() -> dict:
    return load_test_race_create(athletes=3)


def _hub(race_id: int) -> Any:
    from tracking.fanout import hub

    return hub._hubs()[0][race_id]


def test_an_sos_is_stored_sent_to_race_control_and_signalled_but_never_to_spectators(race):
    athlete = race["athletes"][0]
    signalled: list[SosCall] = []

    def receiver(sender: Any, sos: SosCall, **kwargs: Any) -> None:
        signalled.append(sos)

    def failing(sender: Any, sos: SosCall, **kwargs: Any) -> None:
        raise RuntimeError("the mail server is down")

    sos_raised.connect(receiver, weak=False)
    sos_raised.connect(failing, weak=False)

    async def scenario():
        layer = get_channel_layer()
        control = await layer.new_channel()
        await layer.group_add(control_group(race["race_id"]), control)
        spectator = await connect(f"/ws/live/{race['race_id']}/")
        await frame(spectator)  # snapshot
        client = await connect(f"/ws/track/?token={athlete['token']}")
        await frame(client)
        sent = {"type": "sos", "text": "Fell, ankle hurts", "lat": 45.1, "lon": 6.2}
        await send(client, sent)
        received = await frame(client)
        alert = await layer.receive(control)
        await send(client, {"type": "sos", "lat": 95, "lon": 6})
        bad = await frame(client)
        quiet = await spectator.receive_nothing(0.3)
        return received, alert, bad, quiet

    try:
        received, alert, bad, quiet = run(scenario)
    finally:
        sos_raised.disconnect(receiver)
        sos_raised.disconnect(failing)
    call = SosCall.objects.get()
    assert (call.registration_id, call.race_id) == (athlete["id"], race["race_id"])
    assert (call.text, call.lat, call.lon) == ("Fell, ankle hurts", 45.1, 6.2)
    assert received["type"] == "sos_received" and received["t"] == pytest.approx(call.t.timestamp())
    assert alert["type"] == "control.sos" and alert["registration"] == athlete["id"]
    assert (alert["lat"], alert["lon"], alert["bib"]) == (45.1, 6.2, "1")
    assert [s.pk for s in signalled] == [call.pk]
    assert bad["code"] == "bad_sos"
    assert quiet  # the spectator heard nothing of it


def test_an_sos_without_a_position_takes_the_last_stored_fix_and_repeats_are_answered(race):
    athlete = race["athletes"][1]
    now = time.time()

    async def scenario():
        client = await connect(f"/ws/track/?token={athlete['token']}")
        await frame(client)
        await send(client, {"type": "pos", "seq": 1, "points": [point(now - 5, 45.2, 6.3)]})
        assert (await frame(client))["type"] == "ack"
        answers = []
        for _ in range(8):  # a panicking thumb
            await send(client, {"type": "sos"})
            answers.append(await frame(client))
        return answers

    answers = run(scenario)
    assert all(a["type"] == "sos_received" for a in answers)
    calls = list(SosCall.objects.all())
    assert len(calls) == 5  # the socket's burst; the rest are told race control has it
    assert {(c.lat, c.lon) for c in calls} == {(45.2, 6.3)}


def test_an_sos_resent_after_a_reconnect_is_the_same_call(race):
    """The phone resends until it hears ``sos_received``: the answer lost with the socket,
    the same frame (its ``client_id``) on a new socket is the stored call again, and race
    control and the safety e-mails hear of it once. Another id is another call."""
    athlete = race["athletes"][0]
    signalled: list[int] = []

    def receiver(sender: Any, sos: SosCall, **kwargs: Any) -> None:
        signalled.append(sos.pk)

    sos_raised.connect(receiver, weak=False)
    sent = {"type": "sos", "text": "Fell", "lat": 45.1, "lon": 6.2, "client_id": "c0ffee-0001"}

    async def scenario():
        layer = get_channel_layer()
        control = await layer.new_channel()
        await layer.group_add(control_group(race["race_id"]), control)
        answers, alerts = [], []
        for frames in ([sent], [sent, sent], [sent | {"client_id": "c0ffee-0002"}]):
            client = await connect(f"/ws/track/?token={athlete['token']}")
            await frame(client)  # welcome
            for one in frames:
                await send(client, one)
                answers.append(await frame(client))
            await client.disconnect()  # a tunnel: the socket goes
        while True:
            try:
                alerts.append(await asyncio.wait_for(layer.receive(control), 0.3))
            except TimeoutError:
                return answers, alerts

    try:
        answers, alerts = run(scenario)
    finally:
        sos_raised.disconnect(receiver)
    first, second = SosCall.objects.order_by("pk")
    assert SosCall.objects.count() == 2
    assert [a["type"] for a in answers] == ["sos_received"] * 4
    assert [a.get("id") for a in answers] == [first.pk, first.pk, first.pk, second.pk]
    assert answers[1]["t"] == answers[0]["t"]
    assert [a["id"] for a in alerts] == [first.pk, second.pk]
    assert signalled == [first.pk, second.pk]


def test_an_sos_with_a_malformed_client_id_is_refused(race):
    athlete = race["athletes"][0]

    async def scenario():
        client = await connect(f"/ws/track/?token={athlete['token']}")
        await frame(client)
        replies = []
        for bad in ("short", "x" * 65, 12345678, "has space in it", "nul\x00nul-nul"):
            await send(client, {"type": "sos", "client_id": bad})
            replies.append(await frame(client))
        return replies

    replies = run(scenario)
    assert [r.get("code") for r in replies] == ["bad_sos"] * 5
    assert not SosCall.objects.exists()


def test_raise_sos_is_callable_from_plain_code(race):
    athlete = race["athletes"][2]
    call = raise_sos(registration_id=athlete["id"], race_id=race["race_id"], text="help")
    assert (call.lat, call.lon, call.text) == (None, None, "help")
    assert call.registration.bib == "3"


def test_race_control_messages_reach_one_athlete_or_all_and_are_caught_up_on_reconnect(race):
    one, two = race["athletes"][0], race["athletes"][1]
    race_id = race["race_id"]

    async def scenario():
        first = await connect(f"/ws/track/?token={one['token']}")
        second = await connect(f"/ws/track/?token={two['token']}")
        await frame(first)
        await frame(second)
        spectator = await connect(f"/ws/live/{race_id}/")
        await frame(spectator)
        send_all = database_sync_to_async(send_message_to_athletes)
        await send_all(race_id, "Storm coming: shelter at km 12", "Race control")
        await outbox_written(_hub(race_id))
        got_first, got_second = await frame(first), await frame(second)
        await send_all(race_id, "Your crew waits at km 20", "Race control", one["id"])
        await outbox_written(_hub(race_id))
        only_first = await frame(first)
        second_quiet = await second.receive_nothing(0.3)
        spectator_quiet = await spectator.receive_nothing(0.1)
        # By hand, as PROTOCOL.md names the fields (no stored frame): still forwarded.
        await get_channel_layer().group_send(
            f"race_athletes.{race_id}",
            {"type": "athlete.message", "registration": two["id"], "from": "Doc",
             "text": "ok?", "t": 1.5},
        )  # fmt: skip
        await outbox_written(_hub(race_id))
        by_hand = await frame(second)
        # The second phone was away: it asks for what came after the first message.
        again = await connect("/ws/track/")
        await send(again, {"type": "hello", "token": two["token"], "messages_since": 0})
        caught_up = await frames_until(again, "message")
        await again.receive_nothing(0.3)
        return got_first, got_second, only_first, second_quiet, spectator_quiet, by_hand, caught_up

    got_first, got_second, only_first, second_quiet, spectator_quiet, by_hand, caught_up = run(
        scenario
    )
    everyone = RaceMessage.objects.get(registration__isnull=True)
    assert got_first == got_second
    assert got_first == {
        "type": "message", "id": everyone.pk, "from": "Race control",
        "text": "Storm coming: shelter at km 12",
        "t": pytest.approx(everyone.created_at.timestamp()), "to": "all",
    }  # fmt: skip
    assert only_first["text"] == "Your crew waits at km 20" and only_first["to"] == "you"
    assert second_quiet and spectator_quiet
    assert by_hand == {"type": "message", "from": "Doc", "text": "ok?", "t": 1.5, "to": "you"}
    assert [f["type"] for f in caught_up] == ["welcome", "message"]
    assert caught_up[1]["id"] == everyone.pk  # not the other athlete's message


def test_a_post_reaches_spectators_and_bad_posts_are_answered(race):
    athlete = race["athletes"][0]

    async def scenario():
        spectator = await connect(f"/ws/live/{race['race_id']}/")
        await frame(spectator)
        client = await connect(f"/ws/track/?token={athlete['token']}")
        await frame(client)
        errors = []
        for bad in ["", "   ", "x" * 281, 42, "a\x00b", "ring\x07", "\x1b[31mred"]:
            await send(client, {"type": "post", "text": bad})
            errors.append((await frame(client))["code"])
        await send(client, {"type": "post", "text": "Summit!\nOn to the finish"})
        posted = await frames_until(spectator, "post")
        return errors, posted[-1]

    errors, posted = run(scenario)
    assert errors == ["bad_post"] * 7
    assert posted["athlete"] == athlete["id"] and posted["text"] == "Summit!\nOn to the finish"
    assert posted["name"] == "Athlete 1"


def test_posts_over_the_athletes_limit_are_refused(race, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "post.athlete": "2/10m"}
    athlete = race["athletes"][2]

    async def scenario():
        client = await connect(f"/ws/track/?token={athlete['token']}")
        await frame(client)
        for n in range(3):
            await send(client, {"type": "post", "text": f"post {n}"})
        return await frame(client)

    from pace.lib.testing import cache_clear_own

    cache_clear_own()
    refused = run(scenario)
    assert refused["code"] == "rate_limited" and refused["limit"] == "post.athlete"


def test_the_state_frame_carries_gap_pace_and_eta_from_the_tick(race):
    athlete = race["athletes"][0]
    state = (
        f'{{"id":{athlete["id"]},"distance":2500.0,"progress":0.25,"rank":3,"gap":42.5,'
        '"eta":1800000000.0,"pace":300.0,"status":"racing","hr":null}'
    )
    tick = {
        "type": "race.tick", "seq": 1, "t": 1.0, "leaders": [],
        "athletes": [[athlete["id"], state]],
        "field": [[athlete["id"], f'[{athlete["id"]},45.0,6.0,2500,"racing"]']],
        "results": [], "field_interval": 60, "count": 3,
    }  # fmt: skip

    async def scenario():
        client = await connect(f"/ws/track/?token={athlete['token']}")
        await frame(client)
        await get_channel_layer().group_send(race_group(race["race_id"]), tick)
        race_hub = _hub(race["race_id"])
        await wait_until(lambda: race_hub.last_seq >= 1 and race_hub.synced)
        await outbox_written(race_hub)
        return await frame(client)

    assert run(scenario) == {
        "type": "state", "distance": 2500.0, "progress": 0.25, "rank": 3, "gap": 42.5,
        "eta": 1800000000.0, "pace": 300.0, "status": "racing",
    }  # fmt: skip


def test_positions_are_counted_once_per_stored_fix(race):
    """The browser test counts ``Position`` rows: a resend under a new seq would double."""
    assert Position.objects.count() == 0
