"""Stage race rules: GC with bonuses and ties, a DNF leaves it, points, mountains, teams."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from results.models import StagePoint
from results.stages.classify import PointRule, Rules, StageResult, classify

NO_BONUS = Rules(finish_bonuses_s=(), finish_points=(), team_riders=2)
MIN = 60_000


def ride(
    stage: int, rider: str, minutes: float, rank: int, *, club: str = "", **kw: object
) -> StageResult:
    return StageResult(
        stage=stage, rider=rider, name=rider.title(), club=club, finished=True,
        time_ms=round(minutes * MIN), rank=rank, **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def quit_(stage: int, rider: str, *, club: str = "") -> StageResult:
    return StageResult(stage=stage, rider=rider, name=rider.title(), club=club, finished=False)


def gc(rules: Rules, results: list[StageResult]) -> list[tuple[int, str, int]]:
    return [(r.rank, r.rider, r.time_ms) for r in classify(rules, results).general]


def test_it_sums_stage_times_less_the_finish_bonuses() -> None:
    rules = Rules(finish_bonuses_s=(10, 6, 4))
    results = [
        ride(1, "a", 100, 1), ride(1, "b", 100, 2), ride(1, "c", 100.1, 3),
        ride(2, "b", 50, 1), ride(2, "a", 50.05, 2), ride(2, "c", 51, 3),
    ]  # fmt: skip
    assert gc(rules, results) == [
        (1, "b", 150 * MIN - 16_000),
        (2, "a", 150 * MIN + 3_000 - 16_000),
        (3, "c", 151.1 * MIN - 8_000),
    ]
    line = classify(rules, results).general[0]
    assert line.bonus_ms == 16_000


def test_it_takes_sprint_bonuses_by_the_order_over_the_line() -> None:
    sprint = PointRule(stage=1, point_id=7, kind=StagePoint.Kind.SPRINT, bonuses_s=(3, 2, 1))
    rules = Rules(finish_bonuses_s=(), points=(sprint,))
    results = [
        ride(1, "a", 100, 1, passes={7: 5_000}),
        ride(1, "b", 100, 1, passes={7: 4_000}),
        ride(1, "c", 100, 1, passes={}),
    ]
    assert gc(rules, results) == [
        (1, "b", 100 * MIN - 3_000),
        (2, "a", 100 * MIN - 2_000),
        (3, "c", 100 * MIN),
    ]


def test_it_leaves_a_rider_who_did_not_finish_a_stage_out_of_every_classification() -> None:
    climb = PointRule(stage=2, point_id=9, kind=StagePoint.Kind.CLIMB, points=(5, 3))
    rules = Rules(finish_bonuses_s=(), finish_points=(10, 6), team_riders=1, points=(climb,))
    results = [
        ride(1, "a", 90, 1, club="Blue"), ride(1, "b", 100, 2, club="Red"),
        quit_(2, "a", club="Blue"), ride(2, "b", 50, 1, club="Red", passes={9: 1}),
    ]  # fmt: skip
    got = classify(rules, results)
    assert got.stages_run == [1, 2]
    assert [line.rider for line in got.general] == ["b"]
    assert [line.rider for line in got.points] == ["b"]
    assert [line.rider for line in got.mountains] == ["b"]
    assert [team.team for team in got.teams] == ["Red"]


def test_it_classifies_after_the_stages_run_so_far() -> None:
    results = [ride(1, "a", 90, 1), ride(1, "b", 95, 2), StageResult(2, "a", "A", "", False)]
    got = classify(NO_BONUS, results)
    assert got.stages_run == [1]  # stage 2 has nobody finished yet
    assert [line.rider for line in got.general] == ["a", "b"]


def test_it_breaks_gc_ties_by_the_sum_of_placings_then_the_last_stage() -> None:
    results = [
        ride(1, "a", 100, 1), ride(1, "b", 100, 2), ride(1, "c", 100, 3), ride(1, "d", 99, 4),
        ride(2, "c", 50, 1), ride(2, "b", 50, 2), ride(2, "a", 50, 3), ride(2, "d", 51, 4),
    ]  # fmt: skip
    # d: 150 min; a, b, c: 150 min too. Placings: a 1+3=4, b 2+2=4, c 3+1=4, d 4+4=8.
    assert [(rank, rider) for rank, rider, _ in gc(NO_BONUS, results)] == [
        (1, "c"), (2, "b"), (3, "a"), (4, "d"),
    ]  # fmt: skip


def test_it_counts_one_result_a_stage_for_a_rider_entered_twice() -> None:
    results = [ride(1, "a", 100, 1), quit_(1, "a"), ride(1, "a", 101, 2), ride(2, "a", 50, 1)]
    assert gc(NO_BONUS, results) == [(1, "a", 150 * MIN)]


def test_it_shares_a_gc_place_when_every_tie_break_is_level() -> None:
    results = [ride(1, "b", 100, 1), ride(1, "a", 100, 1)]
    assert gc(NO_BONUS, results) == [(1, "a", 100 * MIN), (1, "b", 100 * MIN)]


def test_it_scores_points_from_stage_placings_and_sprints_and_ties_by_stage_wins() -> None:
    sprint = PointRule(stage=2, point_id=3, kind=StagePoint.Kind.SPRINT, points=(20, 17))
    rules = Rules(finish_bonuses_s=(), finish_points=(25, 20, 16), points=(sprint,))
    results = [
        ride(1, "a", 100, 1), ride(1, "b", 100.5, 2), ride(1, "c", 101, 3),
        ride(2, "b", 50, 1, passes={3: 2}), ride(2, "c", 50, 2, passes={3: 1}),
        ride(2, "a", 50, 3),
    ]  # fmt: skip
    points = classify(rules, results).points
    # a: 25 + 16 = 41; b: 20 + 25 + 17 = 62; c: 16 + 20 + 20 = 56.
    assert [(p.rank, p.rider, p.points) for p in points] == [
        (1, "b", 62),
        (2, "c", 56),
        (3, "a", 41),
    ]
    tied = [ride(1, "a", 100, 2), ride(2, "a", 50, 2), ride(1, "b", 100, 1), ride(2, "b", 51, 3)]
    rules = Rules(finish_bonuses_s=(), finish_points=(25, 20, 15))
    # a: 20 + 20 = 40; b: 25 + 15 = 40 with a stage win.
    assert [(p.rank, p.rider) for p in classify(rules, tied).points] == [(1, "b"), (2, "a")]


def test_it_scores_mountains_from_climbs_only() -> None:
    climb = PointRule(stage=1, point_id=4, kind=StagePoint.Kind.CLIMB, points=(10, 6, 4))
    rules = Rules(finish_points=(25,), points=(climb,))
    results = [
        ride(1, "a", 100, 1, passes={4: 30}), ride(1, "b", 101, 2, passes={4: 10}),
        ride(1, "c", 102, 3, passes={4: 20}),
    ]  # fmt: skip
    got = classify(rules, results)
    assert [(m.rank, m.rider, m.mountains) for m in got.mountains] == [
        (1, "b", 10), (2, "c", 6), (3, "a", 4),
    ]  # fmt: skip
    assert [(p.rider, p.points) for p in got.points] == [("a", 25)]  # climbs give no points
    assert got.general[0].rank == 1 and got.mountains[2].rank == 3  # lines ranked apart


def test_it_times_teams_by_their_best_riders_on_every_stage() -> None:
    results = [
        ride(1, "a", 100, 1, club="Blue"), ride(1, "b", 102, 3, club=" blue "),
        ride(1, "c", 130, 6, club="Blue"), ride(1, "d", 101, 2, club="Red"),
        ride(1, "e", 103, 4, club="Red"), ride(1, "f", 104, 5, club="Green"),
        ride(2, "a", 50, 1, club="Blue"), ride(2, "b", 51, 2, club="Blue"),
        ride(2, "c", 52, 3, club="Blue"), ride(2, "d", 60, 4, club="Red"),
        ride(2, "e", 60, 5, club="Red"), ride(2, "f", 60, 6, club="Green"),
    ]  # fmt: skip
    teams = classify(NO_BONUS, results).teams  # the best 2 of each team, each stage
    # Blue: (100 + 102) + (50 + 51) = 303; Red: (101 + 103) + (60 + 60) = 324. Green: 1 rider.
    assert [(t.rank, t.team, t.time_ms) for t in teams] == [
        (1, "Blue", 303 * MIN),
        (2, "Red", 324 * MIN),
    ]


def test_it_drops_a_team_short_of_riders_on_a_stage() -> None:
    results = [
        ride(1, "a", 100, 1, club="Blue"), ride(1, "b", 100, 2, club="Blue"),
        ride(2, "a", 50, 1, club="Blue"), quit_(2, "b", club="Blue"),
    ]  # fmt: skip
    assert classify(NO_BONUS, results).teams == []


# Stages of up to 8 riders: each rider's stage time in minutes, None for a DNF.
stage_times = st.lists(
    st.lists(st.one_of(st.none(), st.integers(100, 110)), min_size=8, max_size=8),
    min_size=1,
    max_size=4,
)


def _stage_results(stages: list[list[int | None]]) -> list[StageResult]:
    results = []
    for number, times in enumerate(stages, start=1):
        finishers = sorted((t, n) for n, t in enumerate(times) if t is not None)
        rank = {n: 1 + sum(1 for u, _ in finishers if u < t) for t, n in finishers}
        for n, t in enumerate(times):
            club = "Blue" if n % 2 else "Red"
            if t is None:
                results.append(quit_(number, f"r{n}", club=club))
            else:
                results.append(ride(number, f"r{n}", t, rank[n], club=club, passes={1: t * n}))
    return results


@settings(max_examples=80, deadline=None)
@given(stages=stage_times)
def test_it_classifies_exactly_the_riders_who_finished_every_stage_run(
    stages: list[list[int | None]],
) -> None:
    sprint = PointRule(
        stage=1, point_id=1, kind=StagePoint.Kind.SPRINT, points=(3,), bonuses_s=(2,)
    )
    got = classify(Rules(points=(sprint,), team_riders=2), _stage_results(stages))
    run = [n for n, times in enumerate(stages, start=1) if any(t is not None for t in times)]
    assert got.stages_run == run
    stayed = {f"r{n}" for n in range(8) if all(stages[s - 1][n] is not None for s in run)}
    assert {line.rider for line in got.general} == (stayed if run else set())
    times = [line.time_ms for line in got.general]
    assert times == sorted(times)
    ranks = [line.rank for line in got.general]
    assert ranks == sorted(ranks) and all(r <= i for i, r in enumerate(ranks, start=1))
    assert all(line.bonus_ms >= 0 for line in got.general)
    assert {line.rider for line in got.points + got.mountains} <= stayed
    team_times = [team.time_ms for team in got.teams]
    assert team_times == sorted(team_times)
