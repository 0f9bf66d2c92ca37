"""Results' timing demo: a past demo race timed from decoder files, official, once."""

from __future__ import annotations

from collections import Counter
from typing import Any

from events.demo.entries import demo_entries
from events.models import Membership, Race
from events.tests.factories import (
    make_age_categories,
    make_course,
    make_event,
    make_organizer,
    make_race,
)
from results import demo_timing
from results.demo_passings import UNKNOWN_CHIP
from results.models import (
    Result,
    ResultChange,
    ResultsPublication,
    SeriesStanding,
    TimingRead,
)
from results.publishing import results_publish

Status = Result.Status


def _past_race(owner: Any, *, entries: int = 80) -> Race:
    organizer = make_organizer("Northern Lights Running", members={owner: Membership.Role.OWNER})
    event = make_event(organizer, "Winter Run", days_ahead=-20, zone="Europe/Berlin")
    race = make_race(event, "10K", course=make_course(organizer))
    make_age_categories(race)
    demo_entries(race=race, count=entries, seed=4)
    return race


def test_it_times_a_past_race_from_decoder_files_and_publishes_it(alice: Any) -> None:
    race = _past_race(alice)

    done = demo_timing.demo_seed(restarted=[])

    assert done.timed == [race]
    reads = TimingRead.objects.filter(race=race)
    assert set(reads.values_list("source", flat=True)) == {TimingRead.Source.CHIP_FILE}
    assert reads.filter(chip=UNKNOWN_CHIP, registration=None).count() == 1
    publication = ResultsPublication.objects.get(race=race)
    assert publication.state == ResultsPublication.State.OFFICIAL
    assert publication.changed_at is not None  # the penalty given after publishing
    results = Result.objects.filter(race=race)
    statuses = Counter(results.values_list("status", flat=True))
    assert statuses[Status.FINISHED] > 60 and statuses[Status.DSQ] == 1
    assert statuses[Status.DNS] + statuses[Status.DNF] >= 1
    assert results.get(status=Status.DSQ).dsq_reason
    ranks = Counter(results.exclude(rank_overall=None).values_list("rank_overall", flat=True))
    assert [rank for rank, n in ranks.items() if n > 1]  # a tie, to the millisecond
    finished = results.filter(status=Status.FINISHED)
    assert all(r.splits and (r.chip_time_ms or 0) <= (r.gun_time_ms or 0) for r in finished)
    assert not finished.filter(chip_time_ms=None).exists()
    assert ResultChange.objects.filter(race=race, field="penalty_ms", after=60_000).exists()


def test_it_times_a_race_once(alice: Any) -> None:
    race = _past_race(alice, entries=20)
    demo_timing.demo_seed(restarted=[])
    reads, changes = TimingRead.objects.count(), ResultChange.objects.count()

    assert demo_timing.demo_seed(restarted=[]).timed == []

    assert (TimingRead.objects.count(), ResultChange.objects.count()) == (reads, changes)
    assert Result.objects.filter(race=race).count() == 20


def test_it_forgets_the_results_of_a_race_starting_over(alice: Any) -> None:
    race = _past_race(alice, entries=10)
    demo_timing.demo_seed(restarted=[])
    results_publish(race_id=race.pk, by=alice)

    demo_timing.results_forget_races(races=[race])

    assert not Result.objects.filter(race=race).exists()
    assert not TimingRead.objects.filter(race=race).exists()
    publication = ResultsPublication.objects.get(race=race)
    assert publication.state == ResultsPublication.State.PROVISIONAL


def test_it_keeps_a_series_over_the_organizers_10ks(alice: Any) -> None:
    race = _past_race(alice, entries=30)
    coming = make_race(make_event(race.event.organizer, "Spring Run", days_ahead=30), "10K")

    demo_timing.demo_seed(restarted=[])
    series = demo_timing.demo_seed(restarted=[]).series

    assert series is not None and series.is_public
    assert set(series.series_races.values_list("race", flat=True)) == {race.pk, coming.pk}
    overall = SeriesStanding.objects.filter(series=series, scope="overall")
    winner = Result.objects.get(race=race, rank_overall=1)
    first = overall.get(rank=1)
    assert first.points == 100 and first.name == str(winner.registration.name)
    assert overall.count() == Result.objects.filter(race=race, status=Status.FINISHED).count()
