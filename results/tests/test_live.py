"""Results while the race runs: one read at a time, the same as computing it all again."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import connections, transaction

from events.models import RaceCategory
from results.compute import recompute_race
from results.live import apply_reads, refresh_result
from results.models import Result, TimingRead, TimingRules
from results.tests.factories import at, make_entry, make_points, make_read
from tracking.live.groups import race_group

S = Result.Status


def ranks(*entries: Any) -> list[tuple[int | None, int | None, int | None] | None]:
    by_entry = {
        r.registration_id: (r.rank_overall, r.rank_sex, r.rank_category)
        for r in Result.objects.all()
    }
    return [by_entry.get(e.pk) for e in entries]


@pytest.fixture
def points(race: Any) -> dict[str, Any]:
    return make_points(race)


def test_it_ranks_a_new_finisher_and_moves_only_those_it_passed(race, points) -> None:
    women = RaceCategory.objects.create(race=race, code="F", name="Women", sex="F")
    a, b, c = make_entry(race, sex="F"), make_entry(race, sex="M"), make_entry(race, sex="F")
    late = make_entry(race, sex="F")
    for entry, seconds in ((a, 3000), (b, 3100), (c, 3200)):
        make_read(points["Finish"], entry, seconds)
    recompute_race(race_id=race.pk)
    updated_before = {r.pk: r.updated_at for r in Result.objects.filter(registration=a)}

    read = make_read(points["Finish"], late, 3050)
    apply_reads(race_id=race.pk, reads=[read])

    assert ranks(a, late, b, c) == [(1, 1, 1), (2, 2, 2), (3, 1, None), (4, 3, 3)]
    assert women.pk == Result.objects.get(registration=late).category_id
    # The leader's row was not rewritten: nothing of it moved.
    assert {r.pk: r.updated_at for r in Result.objects.filter(registration=a)} == updated_before


def test_it_moves_ranks_back_when_a_finish_read_is_set_aside(race, points) -> None:
    a, b = make_entry(race), make_entry(race)
    wrong = make_read(points["Finish"], a, 2000)
    make_read(points["Finish"], a, 3300)
    make_read(points["Finish"], b, 3000)
    recompute_race(race_id=race.pk)
    assert ranks(a, b) == [(1, 1, None), (2, 2, None)]
    TimingRead.objects.filter(pk=wrong.pk).update(ignored=True, ignore_reason="Bib swap")
    refresh_result(race_id=race.pk, registration_id=a.pk)
    assert ranks(a, b) == [(2, 2, None), (1, 1, None)]


def test_it_unranks_a_disqualified_athlete_and_lifts_those_behind(race, points) -> None:
    a, b, c = make_entry(race), make_entry(race), make_entry(race)
    for entry, seconds in ((a, 3000), (b, 3000), (c, 3100)):
        make_read(points["Finish"], entry, seconds)
    recompute_race(race_id=race.pk)
    assert ranks(a, b, c) == [(1, 1, None), (1, 1, None), (3, 3, None)]
    Result.objects.filter(registration=a).update(manual_status="dsq")
    refresh_result(race_id=race.pk, registration_id=a.pk)
    assert ranks(a, b, c) == [(None, None, None), (1, 1, None), (2, 2, None)]
    assert Result.objects.get(registration=a).status == S.DSQ


def _store_and_apply(point: Any, entry: Any, seconds: float, source: str = "chip_file") -> Any:
    with transaction.atomic():  # committed: the frame goes out after commit
        read = make_read(point, entry, seconds, source=source)
        apply_reads(race_id=point.race_id, reads=[read])
    return read


@pytest.mark.django_db(transaction=True)
def test_it_sends_spectators_the_result_frame_through_the_races_group(race) -> None:
    """As in a web process: the read is applied in a thread, the frame goes out on the
    event loop, where a hub listening to the race's group receives it."""
    points = make_points(race)
    leader, second, third = make_entry(race), make_entry(race), make_entry(race)
    make_read(points["5 km"], leader, 1300)
    make_read(points["5 km"], third, 1500)
    make_read(points["Finish"], leader, 2900)
    recompute_race(race_id=race.pk)

    async def scenario() -> tuple[Any, Any, list[dict[str, Any]]]:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(race_group(race.pk), channel)
        try:
            apply = sync_to_async(_store_and_apply)
            split = await apply(points["5 km"], second, 1400.5)
            finish = await apply(points["Finish"], second, 3000.25, "push")
            got = [await asyncio.wait_for(layer.receive(channel), 30) for _ in range(2)]
        finally:
            await layer.group_discard(race_group(race.pk), channel)
            await sync_to_async(connections.close_all)()  # the thread's own connection
        return split, finish, got

    split, finish, (first, then) = asyncio.run(scenario())
    assert first["type"] == then["type"] == "race.result"
    assert json.loads(first["frame"]) == {
        "type": "result",
        "athlete": second.pk,
        "point": "5 km",
        "time": round(split.time.timestamp(), 3),
        "rank": 2,  # behind the leader's 1,300 s, ahead of the third's 1,500 s
    }
    assert json.loads(then["frame"]) == {
        "type": "result",
        "athlete": second.pk,
        "point": "Finish",
        "time": round(finish.time.timestamp(), 3),
        "rank": 2,
    }


def test_it_frames_no_gps_read_and_no_read_that_does_not_count(
    race, points, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    entry = make_entry(race)
    sent: list[Any] = []
    monkeypatch.setattr("results.live.send_frames", sent.extend)
    with django_capture_on_commit_callbacks(execute=True):
        first = make_read(points["Finish"], entry, 3000)
        assert len(apply_reads(race_id=race.pk, reads=[first])) == 1
        gps = make_read(points["5 km"], entry, 1500, source="gps")
        again = make_read(points["Finish"], entry, 3001)
        assert apply_reads(race_id=race.pk, reads=[gps, again]) == []
    assert [frame.point for frame in sent] == ["Finish"]


def test_it_frames_nothing_once_the_race_is_closed(race, points) -> None:
    TimingRules.objects.create(race=race, cutoff_ms=3_600_000)
    entry = make_entry(race)
    read = make_read(points["Finish"], entry, 3000)
    now = race.start_time.replace(hour=race.start_time.hour + 2)
    assert apply_reads(race_id=race.pk, reads=[read], now=now) == []
    assert Result.objects.get(registration=entry).status == S.FINISHED


def test_it_reads_the_races_setup_again_once_it_changes(race, points) -> None:
    from results.models import Wave, WaveEntry

    a, b = make_entry(race), make_entry(race)
    apply_reads(race_id=race.pk, reads=[make_read(points["Finish"], a, 3000)])
    wave = Wave.objects.create(race=race, name="Late wave", start_time=race.start_time)
    WaveEntry.objects.create(wave=wave, registration=b)
    Wave.objects.filter(pk=wave.pk).update(start_time=at(race, 600))  # no signal: bump by hand
    from results.setup_versions import bump_setup

    bump_setup(race_ids=[race.pk])
    apply_reads(race_id=race.pk, reads=[make_read(points["Finish"], b, 3500)])
    assert Result.objects.get(registration=b).gun_time_ms == 2_900_000
    assert ranks(a, b) == [(2, 2, None), (1, 1, None)]
