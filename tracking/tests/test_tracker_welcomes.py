"""Phones connecting at once are looked up together (``tracking.ingest.welcomes``), and each
is still told its own athlete and its own device's ``last_seq``."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from django.utils import timezone

from tracking import selectors
from tracking.ingest import athletes
from tracking.ingest.welcomes import welcomes
from tracking.models import Position, Tracker
from tracking.sim.testrace import load_test_race_create
from tracking.tests.helpers import connect, frame, run, send

pytestmark = pytest.mark.django_db(transaction=True)


def _stored(athlete_id: int, race_id: int, device: str, seqs: range) -> None:
    now = timezone.now()
    Position.objects.bulk_create(
        Position(
            race_id=race_id,
            registration_id=athlete_id,
            seq=seq,
            device_key=athletes.device_key(device),
            t=now - dt.timedelta(seconds=100 - seq),
            lat=52.5,
            lon=13.4,
            received_at=now,
        )
        for seq in seqs
    )


def test_phones_connecting_at_once_share_lookups_and_each_gets_its_own_welcome():
    race = load_test_race_create(athletes=12)
    people = race["athletes"]
    _stored(people[0]["id"], race["race_id"], "watch", range(1, 8))
    _stored(people[0]["id"], race["race_id"], "phone", range(1, 3))
    _stored(people[1]["id"], race["race_id"], "", range(1, 5))
    Tracker.objects.filter(registration_id=people[2]["id"]).update(revoked_at=timezone.now())
    asks = [(p["token"], "") for p in people[1:]] + [
        (people[0]["token"], "watch"),
        (people[0]["token"], "phone"),
        (people[0]["token"], "tablet"),
        ("not-a-token", ""),
        ("bad\x00token", ""),
    ]

    async def one(token: str, device: str) -> dict:
        client = await connect("/ws/track/")
        await send(client, {"type": "hello", "token": token, "device": device})
        got = await frame(client)
        await client.disconnect()
        return got

    async def scenario():
        gatherer = welcomes()
        hops = gatherer.hops
        got = await asyncio.gather(*(one(t, d) for t, d in asks))
        return got, gatherer.hops - hops

    got, hops = run(scenario)
    by_ask = dict(zip(asks, got, strict=True))
    assert hops < len(asks) // 2  # gathered: a handful of hops for 16 phones
    assert by_ask[(people[0]["token"], "watch")]["last_seq"] == 7
    assert by_ask[(people[0]["token"], "phone")]["last_seq"] == 2
    assert by_ask[(people[0]["token"], "tablet")]["last_seq"] is None
    assert by_ask[(people[1]["token"], "")]["last_seq"] == 4
    assert by_ask[(people[3]["token"], "")]["last_seq"] is None
    for person in people[3:]:
        welcome = by_ask[(person["token"], "")]
        assert welcome["type"] == "welcome"
        assert welcome["athlete"]["id"] == person["id"]
    for refused in [(people[2]["token"], ""), ("not-a-token", ""), ("bad\x00token", "")]:
        assert by_ask[refused] == {
            "type": "error",
            "code": "unauthorized",
            "detail": "unknown or revoked tracking token",
        }


def test_a_batch_answers_every_key_even_unknown_ones():
    race = load_test_race_create(athletes=2)
    a, b = race["athletes"]
    keys = [(a["token"], 0), (a["token"], 5), (b["token"], 0), ("nope", 0), ("", 0)]
    found = athletes.athletes_and_last_seqs(keys)
    assert set(found) == set(keys)
    assert found[(a["token"], 0)][0].id == a["id"]
    assert found[(a["token"], 5)] == (found[(a["token"], 0)][0], None)
    assert found[("nope", 0)] == (None, None) == found[("", 0)]


def test_a_phones_welcome_reads_its_race_so_the_first_spectator_waits_for_no_lookup(
    monkeypatch,
):
    """Phones connect first; the process's first spectator then finds the race read by
    their welcomes' hop, not queued behind the database thread of a loop busy with them."""
    race = load_test_race_create(athletes=2)
    race_id = race["race_id"]
    selectors._watchable.pop(race_id, None)
    assert selectors.public_race_remembered(race_id=race_id) is None

    async def scenario():
        phone = await connect("/ws/track/")
        await send(phone, {"type": "hello", "token": race["athletes"][0]["token"]})
        assert (await frame(phone))["type"] == "welcome"
        assert selectors.public_race_remembered(race_id=race_id) is not None

        def no_lookup(**kwargs):
            raise AssertionError("the first spectator waited for the race's lookup")

        monkeypatch.setattr(selectors, "watchable_race", no_lookup)
        spectator = await connect(f"/ws/live/{race_id}/")
        return await frame(spectator)

    snapshot = run(scenario)
    assert snapshot["type"] == "snapshot" and snapshot["race"]["id"] == race_id
