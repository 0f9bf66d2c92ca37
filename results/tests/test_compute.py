"""A race's results computed in full from its stored reads."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from events.models import RaceCategory, Registration
from results.compute import recompute_race
from results.models import Result, TimingRules, Wave, WaveEntry
from results.tests.factories import at, make_entry, make_points, make_read

S = Result.Status


def result_of(entry: Registration) -> Result:
    return Result.objects.get(registration=entry)


@pytest.fixture
def points(race: Any) -> dict[str, Any]:
    return make_points(race)


def test_it_gives_every_confirmed_entry_a_result_and_ranks_the_finishers(race, points) -> None:
    ann, bea, cat = (make_entry(race, sex="F") for _ in range(3))
    dan = make_entry(race, sex="M")
    make_entry(race, status=Registration.Status.CANCELLED)
    for entry, finish in ((ann, 3000), (bea, 2900), (dan, 2950)):
        make_read(points["Start"], entry, 5)
        make_read(points["5 km"], entry, finish / 2)
        make_read(points["Finish"], entry, finish)
    make_read(points["5 km"], cat, 1600)

    assert recompute_race(race_id=race.pk) == 4
    assert Result.objects.filter(race=race).count() == 4
    bea_result = result_of(bea)
    assert (bea_result.status, bea_result.chip_time_ms, bea_result.gun_time_ms) == (
        S.FINISHED, 2_895_000, 2_900_000,
    )  # fmt: skip
    assert (bea_result.rank_overall, bea_result.rank_sex) == (1, 1)
    assert (result_of(dan).rank_overall, result_of(dan).rank_sex) == (2, 1)
    assert (result_of(ann).rank_overall, result_of(ann).rank_sex) == (3, 2)
    assert (result_of(cat).status, result_of(cat).rank_overall) == (S.RACING, None)
    assert bea_result.started_at == at(race, 5)
    assert bea_result.splits == {
        f"p{points['5 km'].pk}": 1_445_000, f"p{points['Finish'].pk}": 2_895_000
    }  # fmt: skip


def test_it_changes_nothing_when_computed_again(race, points) -> None:
    entry = make_entry(race)
    make_read(points["Finish"], entry, 3000)
    recompute_race(race_id=race.pk)
    assert recompute_race(race_id=race.pk) == 0


def test_it_ranks_categories_by_age_on_race_day_with_birthdays_on_the_edge(race, points) -> None:
    day = race.start_time.date()  # 09:00 UTC in a UTC venue: the race's day
    senior = RaceCategory.objects.create(
        race=race, code="F-SEN", name="Senior", sex="F", max_age=39
    )
    masters = RaceCategory.objects.create(race=race, code="F-M40", name="40+", sex="F", min_age=40)
    forty_today = make_entry(race, birth_date=day.replace(year=day.year - 40))
    forty_tomorrow = make_entry(
        race, birth_date=day.replace(year=day.year - 40) + dt.timedelta(days=1)
    )
    forty_yesterday = make_entry(
        race, birth_date=day.replace(year=day.year - 40) - dt.timedelta(days=1)
    )
    for seconds, entry in enumerate((forty_today, forty_tomorrow, forty_yesterday)):
        make_read(points["Finish"], entry, 3000 + seconds)
    recompute_race(race_id=race.pk)
    assert result_of(forty_today).category_id == masters.pk
    assert result_of(forty_tomorrow).category_id == senior.pk
    assert result_of(forty_yesterday).category_id == masters.pk
    assert result_of(forty_today).rank_category == 1
    assert result_of(forty_yesterday).rank_category == 2
    assert result_of(forty_tomorrow).rank_category == 1


def test_it_keeps_the_given_category_of_an_entry_no_age_rule_fits(race, points) -> None:
    elite = RaceCategory.objects.create(race=race, code="ELITE", name="Elite", sex="M", min_age=99)
    entry = make_entry(race, sex="M", category=elite)
    make_read(points["Finish"], entry, 3000)
    recompute_race(race_id=race.pk)
    assert result_of(entry).category_id == elite.pk


def test_it_times_each_wave_from_its_own_start(race, points) -> None:
    second = Wave.objects.create(race=race, name="Wave 2", start_time=at(race, 600))
    early, late = make_entry(race), make_entry(race)
    WaveEntry.objects.create(wave=second, registration=late)
    make_read(points["Finish"], early, 3000)
    make_read(points["Finish"], late, 3500)  # 2,900 s after its wave
    make_read(points["5 km"], late, 300)  # before its wave went: not counted
    recompute_race(race_id=race.pk)
    assert (result_of(late).gun_time_ms, result_of(late).rank_overall) == (2_900_000, 1)
    assert result_of(late).splits == {f"p{points['Finish'].pk}": 2_900_000}
    assert (result_of(early).gun_time_ms, result_of(early).rank_overall) == (3_000_000, 2)


def test_it_ranks_by_gun_time_when_the_race_says_so(race, points) -> None:
    TimingRules.objects.create(race=race, rank_by=TimingRules.RankBy.GUN)
    slow_starter, quick_starter = make_entry(race), make_entry(race)
    make_read(points["Start"], slow_starter, 120)
    make_read(points["Finish"], slow_starter, 3060)  # chip 2,940 s, gun 3,060 s
    make_read(points["Finish"], quick_starter, 3000)
    recompute_race(race_id=race.pk)
    assert result_of(quick_starter).rank_overall == 1
    assert result_of(slow_starter).time_ms == 3_060_000


def test_it_shares_a_rank_between_equal_times_and_skips_the_next(race, points) -> None:
    a, b, c = make_entry(race), make_entry(race), make_entry(race)
    for entry, seconds in ((a, 3000.25), (b, 3000.25), (c, 3000.5)):
        make_read(points["Finish"], entry, seconds)
    recompute_race(race_id=race.pk)
    assert [result_of(e).rank_overall for e in (a, b, c)] == [1, 1, 3]


def test_it_applies_penalties_bonuses_and_disqualifications_to_ranks(race, points) -> None:
    a, b, c = make_entry(race), make_entry(race), make_entry(race)
    for entry, seconds in ((a, 3000), (b, 3010), (c, 3020)):
        make_read(points["Finish"], entry, seconds)
    recompute_race(race_id=race.pk)
    Result.objects.filter(registration=a).update(penalty_ms=30_000)
    Result.objects.filter(registration=c).update(bonus_ms=15_000)
    Result.objects.filter(registration=b).update(manual_status="dsq", dsq_reason="Cut the course")
    recompute_race(race_id=race.pk)
    assert (result_of(c).time_ms, result_of(c).rank_overall) == (3_005_000, 1)
    assert (result_of(a).time_ms, result_of(a).rank_overall) == (3_030_000, 2)
    assert (result_of(b).status, result_of(b).rank_overall) == (S.DSQ, None)


def test_it_says_dns_and_dnf_once_the_cutoff_has_passed(race, points) -> None:
    TimingRules.objects.create(race=race, cutoff_ms=3_600_000)
    starter, absent = make_entry(race), make_entry(race)
    make_read(points["5 km"], starter, 1500)
    recompute_race(race_id=race.pk, now=at(race, 1800))
    assert (result_of(starter).status, result_of(absent).status) == (S.RACING, S.NOT_STARTED)
    recompute_race(race_id=race.pk, now=at(race, 3600))
    assert (result_of(starter).status, result_of(absent).status) == (S.DNF, S.DNS)


def test_it_gives_a_result_to_an_unconfirmed_entry_that_raced(race, points) -> None:
    walk_in = make_entry(race, status=Registration.Status.PENDING)
    make_entry(race, status=Registration.Status.PENDING)  # never read: no result
    make_read(points["Finish"], walk_in, 3000)
    recompute_race(race_id=race.pk)
    assert list(Result.objects.values_list("registration_id", flat=True)) == [walk_in.pk]


def test_it_leaves_out_reads_the_organizer_set_aside_and_unmatched_reads(race, points) -> None:
    entry = make_entry(race)
    make_read(points["Finish"], entry, 2000, ignored=True, ignore_reason="Bib swap")
    make_read(points["Finish"], None, 2500, bib="999")
    make_read(points["Finish"], entry, 3000)
    recompute_race(race_id=race.pk)
    assert result_of(entry).chip_time_ms == 3_000_000
