"""An athlete's times, status and ranks from counted reads: pure rules, no database."""

from __future__ import annotations

from results.filtering import Counted
from results.models import Result, TimingPoint, TimingRules
from results.outcome import Inputs, outcome_of, rank_finishers
from results.rules import Point, RaceSetup

GUN = 1_000_000_000_000
START, SPLIT, FINISH = 1, 2, 3
K = TimingPoint.Kind
S = Result.Status


def setup(**kw: object) -> RaceSetup:
    points = {
        START: Point(START, "Start", K.START, 0.0, 30_000, 0),
        SPLIT: Point(SPLIT, "5 km", K.SPLIT, 5000.0, 30_000, 1),
        FINISH: Point(FINISH, "Finish", K.FINISH, 10_000.0, 30_000, 2),
    }
    return RaceSetup(race_id=1, gun_ms=GUN, points=points, **kw)  # type: ignore[arg-type]


def counted(**times: float) -> Counted:
    ids = {"start": START, "split": SPLIT, "finish": FINISH}
    return Counted(times={ids[k]: [GUN + round(v * 1000)] for k, v in times.items()})


def test_it_times_the_chip_from_the_start_mat_and_the_gun_from_the_gun() -> None:
    out = outcome_of(
        setup(), gun_ms=GUN, counted=counted(start=42, split=1542, finish=3042), inputs=Inputs()
    )
    assert (out.gun_time_ms, out.chip_time_ms, out.time_ms) == (3_042_000, 3_000_000, 3_000_000)
    assert out.splits == {f"p{SPLIT}": 1_500_000, f"p{FINISH}": 3_000_000}
    assert out.status == S.FINISHED


def test_it_times_the_chip_from_the_wave_start_without_a_start_read() -> None:
    wave = GUN + 900_000
    out = outcome_of(setup(), gun_ms=wave, counted=counted(finish=3900), inputs=Inputs())
    assert (out.gun_time_ms, out.chip_time_ms) == (3_000_000, 3_000_000)


def test_it_ranks_by_gun_time_when_the_rules_say_so() -> None:
    out = outcome_of(
        setup(rank_by=TimingRules.RankBy.GUN),
        gun_ms=GUN,
        counted=counted(start=60, finish=3060),
        inputs=Inputs(),
    )
    assert out.time_ms == 3_060_000


def test_it_adds_penalties_and_takes_off_bonuses_from_the_ranked_time_only() -> None:
    out = outcome_of(
        setup(), gun_ms=GUN, counted=counted(finish=3000), inputs=Inputs("", 60_000, 15_000)
    )
    assert (out.chip_time_ms, out.time_ms) == (3_000_000, 3_045_000)
    never_negative = outcome_of(
        setup(), gun_ms=GUN, counted=counted(finish=10), inputs=Inputs("", 0, 60_000)
    )
    assert never_negative.time_ms == 0


def test_it_says_racing_while_open_and_dnf_once_closed_for_a_started_athlete() -> None:
    live = outcome_of(setup(), gun_ms=GUN, counted=counted(split=1500), inputs=Inputs())
    closed = outcome_of(
        setup(closed=True), gun_ms=GUN, counted=counted(split=1500), inputs=Inputs()
    )
    assert (live.status, closed.status) == (S.RACING, S.DNF)
    assert closed.splits == {f"p{SPLIT}": 1_500_000}


def test_it_says_not_started_while_open_and_dns_once_closed_without_reads() -> None:
    live = outcome_of(setup(), gun_ms=GUN, counted=Counted(), inputs=Inputs())
    closed = outcome_of(setup(closed=True), gun_ms=GUN, counted=Counted(), inputs=Inputs())
    assert (live.status, closed.status) == (S.NOT_STARTED, S.DNS)


def test_it_lets_the_organizers_dsq_dnf_or_dns_overrule_the_timing() -> None:
    for manual, status in (("dsq", S.DSQ), ("dnf", S.DNF), ("dns", S.DNS)):
        out = outcome_of(setup(), gun_ms=GUN, counted=counted(finish=3000), inputs=Inputs(manual))
        assert out.status == status
        assert out.chip_time_ms == 3_000_000  # kept, shown; not ranked


def test_it_finishes_a_lap_race_on_the_last_laps_pass() -> None:
    times = Counted(times={FINISH: [GUN + 600_000, GUN + 1_200_000]})
    two = outcome_of(setup(laps=2), gun_ms=GUN, counted=times, inputs=Inputs())
    three = outcome_of(setup(laps=3), gun_ms=GUN, counted=times, inputs=Inputs())
    assert (two.status, two.chip_time_ms) == (S.FINISHED, 1_200_000)
    assert two.splits == {f"p{FINISH}": 600_000, f"p{FINISH}.2": 1_200_000}
    assert (three.status, three.chip_time_ms) == (S.RACING, None)


def test_it_gives_tied_athletes_one_rank_and_skips_the_next() -> None:
    ranks = rank_finishers(
        [(1, 3000, "F", 10), (2, 3000, "F", 10), (3, 3001, "M", 20), (4, 2999, "F", None)]
    )
    assert ranks == {4: (1, 1, None), 1: (2, 2, 1), 2: (2, 2, 1), 3: (4, 1, 1)}


def test_it_ranks_each_sex_and_category_on_its_own() -> None:
    ranks = rank_finishers(
        [(1, 100, "M", 1), (2, 200, "F", 2), (3, 300, "F", 3), (4, 400, "F", 2), (5, 500, "X", 4)]
    )
    assert ranks == {
        1: (1, 1, 1),
        2: (2, 1, 1),
        3: (3, 2, 1),
        4: (4, 3, 2),
        5: (5, 1, 1),
    }
