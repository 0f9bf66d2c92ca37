"""GPS crossings stored by tracking's ticker become GPS reads, which chip reads beat."""

from __future__ import annotations

from typing import Any

from events.tests.factories import make_course, make_event, make_race
from results.models import Result, TimingPoint, TimingRead
from results.tests.factories import at, make_entry, make_read
from tracking.live.engine import Crossing
from tracking.live.ticker import store_crossings


def test_it_turns_stored_crossings_into_gps_reads_and_results(
    alpha: Any, django_capture_on_commit_callbacks: Any
) -> None:
    race = make_race(make_event(alpha, "Alpha GPS"), course=make_course(alpha))
    entry = make_entry(race)
    crossing = Crossing(
        athlete=entry.pk, point="5 km", distance=5000, time=at(race, 1500).timestamp(), rank=1
    )
    finish = Crossing(
        athlete=entry.pk, point="Finish", distance=10000, time=at(race, 3000).timestamp(), rank=1
    )
    with django_capture_on_commit_callbacks(execute=True):
        store_crossings(race_id=race.pk, crossings=[crossing, finish])
    with django_capture_on_commit_callbacks(execute=True):
        store_crossings(race_id=race.pk, crossings=[finish])  # the ticker resends: stored once

    reads = TimingRead.objects.filter(race=race).order_by("time")
    assert [(r.point.name, r.source, r.time) for r in reads] == [
        ("5 km", "gps", at(race, 1500)),
        ("Finish", "gps", at(race, 3000)),
    ]
    names = list(TimingPoint.objects.filter(race=race).values_list("name", "kind"))
    assert names[0] == ("Start", "start") and names[-1] == ("Finish", "finish")
    assert Result.objects.get(registration=entry).chip_time_ms == 3_000_000

    # The finish mat's read, arriving later, beats the phone's estimate.
    from results.live import apply_reads

    mat = make_read(TimingPoint.objects.get(race=race, name="Finish"), entry, 2998.5)
    apply_reads(race_id=race.pk, reads=[mat])
    assert Result.objects.get(registration=entry).chip_time_ms == 2_998_500


def test_it_keeps_the_ticker_going_when_results_fail(alpha: Any, caplog: Any) -> None:
    race = make_race(make_event(alpha, "Alpha GPS"))
    entry = make_entry(race)
    crossing = Crossing(athlete=entry.pk, point="5 km", distance=5000, time=0.0, rank=1)
    from tracking.signals import crossings_stored

    def broken(**kwargs: Any) -> None:
        raise RuntimeError("results are down")

    crossings_stored.connect(broken, dispatch_uid="test-broken")
    try:
        store_crossings(race_id=race.pk, crossings=[crossing])
    finally:
        crossings_stored.disconnect(dispatch_uid="test-broken")
    assert "failed on crossings" in caplog.text
