"""Applying reads and changes one by one gives exactly what computing the race afresh gives."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.models import RaceCategory
from results.bulk import COMPUTED
from results.compute import recompute_race
from results.live import apply_reads, refresh_result
from results.models import Result, TimingRead, TimingRules, Wave, WaveEntry
from results.tests.factories import at, make_entry, make_points, make_read

SOURCES = ("chip_file", "push", "manual", "gps")
POINTS = ("Start", "5 km", "Finish")

reads = st.tuples(
    st.just("read"),
    st.integers(0, 5),  # athlete
    st.sampled_from(POINTS),
    st.integers(-120, 4000).map(lambda s: s / 4),  # quarter seconds: ties happen
    st.sampled_from(SOURCES),
)
# Finish times crowd into a few seconds so that athletes tie and pass each other.
finishes = st.tuples(
    st.just("read"),
    st.integers(0, 5),
    st.just("Finish"),
    st.integers(2990, 3010).map(float),
    st.sampled_from(SOURCES),
)
organizer = st.tuples(
    st.sampled_from(["penalty", "bonus", "dsq", "clear", "ignore"]),
    st.integers(0, 5),
    st.integers(0, 20).map(lambda s: s * 1000),
)
steps = st.lists(st.one_of(reads, finishes, organizer), min_size=1, max_size=25)


def snapshot() -> dict[int, tuple[Any, ...]]:
    return {
        row[0]: tuple(row[1:]) for row in Result.objects.values_list("registration_id", *COMPUTED)
    }


def _apply(race: Any, points: dict[str, Any], entries: list[Any], step: tuple[Any, ...]) -> None:
    kind, who = step[0], entries[step[1]]
    if kind == "read":
        _, _, point, seconds, source = step
        read = make_read(points[point], who, seconds, source=source)
        apply_reads(race_id=race.pk, reads=[read], now=at(race, 600))
        return
    fields = {
        "penalty": {"penalty_ms": step[2]},
        "bonus": {"bonus_ms": step[2]},
        "dsq": {"manual_status": "dsq", "dsq_reason": "Rule 5"},
        "clear": {"manual_status": "", "dsq_reason": ""},
        "ignore": {},
    }[kind]
    if kind == "ignore":
        latest = TimingRead.objects.filter(registration=who).order_by("-pk").first()
        if latest is not None:
            TimingRead.objects.filter(pk=latest.pk).update(ignored=True)
    Result.objects.filter(registration=who).update(**fields)
    refresh_result(race_id=race.pk, registration_id=who.pk, now=at(race, 600))


def test_it_gives_the_same_results_one_read_at_a_time_as_all_at_once(race: Any) -> None:
    points = make_points(race, min_gap_ms=10_000)
    TimingRules.objects.create(race=race, cutoff_ms=3_700_000, max_speed_mps=6.0)
    young = RaceCategory.objects.create(race=race, code="U40", name="Under 40", max_age=39)
    RaceCategory.objects.create(race=race, code="F40", name="Women 40+", sex="F", min_age=40)
    born = [dt.date(1990, 1, 1), dt.date(1970, 1, 1)]
    entries = [make_entry(race, sex="FM"[i % 2], birth_date=born[i % 3 == 0]) for i in range(6)]
    wave = Wave.objects.create(race=race, name="B", start_time=at(race, 30))
    WaveEntry.objects.create(wave=wave, registration=entries[5])
    assert young.pk  # the category the young ones fall in

    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(steps=steps)
    def check(steps: list[tuple[Any, ...]]) -> None:
        TimingRead.objects.filter(race=race).delete()
        Result.objects.filter(race=race).delete()
        recompute_race(race_id=race.pk, now=at(race, 600))
        for step in steps:
            _apply(race, points, entries, step)
        live = snapshot()
        assert recompute_race(race_id=race.pk, now=at(race, 600)) == 0, "live ≠ recomputed"
        assert snapshot() == live

    check()
