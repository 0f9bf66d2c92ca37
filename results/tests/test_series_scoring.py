"""Series scoring rules: points table and formula, best N of M, tie-breaks, standings."""

from __future__ import annotations

from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from results.models import Series, TieBreak
from results.series.scoring import OVERALL, Placing, Rules, Standing, points_for, standings

TABLE = Rules(points_table=(100, 80, 60), tie_breaks=())


def finish(
    race: int, athlete: str, rank: int, *, sex: str = "F", cat: str = "", **ranks: int
) -> Placing:
    """A finish at ``rank`` overall (and, unless given, the same by sex and category)."""
    return Placing(
        race_id=race, athlete=athlete, name=athlete.title(), club="", sex=sex, category=cat,
        rank_overall=rank, rank_sex=ranks.get("in_sex", rank),
        rank_category=ranks.get("in_cat", rank),
    )  # fmt: skip


def overall(rows: list[Standing]) -> list[tuple[int, str, int]]:
    return [(r.rank, r.athlete, r.points) for r in rows if r.scope == OVERALL]


def test_it_gives_points_from_the_table_and_none_past_its_end() -> None:
    assert [points_for(TABLE, rank=r, ranked=10) for r in (1, 2, 3, 4)] == [100, 80, 60, 0]


def test_it_gives_formula_points_from_a_fixed_n() -> None:
    rules = Rules(scoring=Series.Scoring.FORMULA, formula_n=5)
    assert [points_for(rules, rank=r, ranked=50) for r in (1, 2, 5, 6, 9)] == [5, 4, 1, 0, 0]


def test_it_gives_formula_points_from_the_field_size_without_n() -> None:
    rules = Rules(scoring=Series.Scoring.FORMULA)
    rows = standings(rules, race_ids=[1], placings=[finish(1, "a", 1), finish(1, "b", 2)])
    assert overall(rows) == [(1, "a", 2), (2, "b", 1)]


def test_it_sums_points_over_the_races() -> None:
    placings = [finish(1, "a", 1), finish(1, "b", 2), finish(2, "b", 1), finish(2, "a", 3)]
    assert overall(standings(TABLE, race_ids=[1, 2], placings=placings)) == [
        (1, "b", 180),
        (2, "a", 160),
    ]


def test_it_counts_one_result_per_race_for_an_athlete_entered_twice() -> None:
    placings = [finish(1, "a", 1), finish(1, "b", 2), finish(1, "a", 3)]
    assert overall(standings(TABLE, race_ids=[1], placings=placings)) == [
        (1, "a", 100),
        (2, "b", 80),
    ]


def test_it_counts_only_the_best_n_of_m_results() -> None:
    rules = Rules(points_table=(100, 80, 60), best_of=2, tie_breaks=())
    placings = [finish(1, "a", 3), finish(2, "a", 1), finish(3, "a", 2), finish(1, "b", 1)]
    (a, b) = [
        r for r in standings(rules, race_ids=[1, 2, 3], placings=placings) if r.scope == OVERALL
    ]
    assert (a.athlete, a.points) == ("a", 180)
    assert [(s.race_id, s.counted) for s in a.scored] == [(1, False), (2, True), (3, True)]
    assert (b.athlete, b.points) == ("b", 100)


def test_it_breaks_ties_by_more_wins_then_more_second_places() -> None:
    rules = Rules(points_table=(10, 8, 6, 5, 4, 3), tie_breaks=(TieBreak.COUNTBACK,))
    placings = [
        finish(1, "a", 1), finish(1, "d", 2), finish(1, "b", 3), finish(1, "h", 4),
        finish(1, "c", 6),
        finish(2, "c", 1), finish(2, "b", 2), finish(2, "h", 4), finish(2, "a", 6),
        finish(3, "d", 4), finish(3, "h", 6),
    ]  # fmt: skip
    rows = overall(standings(rules, race_ids=[1, 2, 3], placings=placings))
    # a and c: a win and a 6th (13); d: a 2nd and a 4th (13); h: two 4ths and a 6th (13).
    assert rows == [(1, "b", 14), (2, "a", 13), (2, "c", 13), (4, "d", 13), (5, "h", 13)]


def test_it_breaks_ties_by_the_better_place_in_the_last_race() -> None:
    rules = Rules(points_table=(10, 6, 4), tie_breaks=(TieBreak.LAST_RACE,))
    placings = [
        finish(1, "a", 1), finish(2, "a", 3), finish(3, "a", 2),  # 10 + 4 + 6 = 20
        finish(1, "b", 2), finish(2, "b", 1), finish(3, "b", 3),  # 6 + 10 + 4 = 20
    ]  # fmt: skip
    assert overall(standings(rules, race_ids=[1, 2, 3], placings=placings)) == [
        (1, "a", 20),
        (2, "b", 20),
    ]


def test_it_goes_back_a_race_when_neither_ran_the_last_one() -> None:
    rules = Rules(points_table=(10, 6), tie_breaks=(TieBreak.LAST_RACE,))
    placings = [finish(1, "a", 1), finish(2, "b", 1), finish(3, "c", 1)]
    rows = overall(standings(rules, race_ids=[1, 2, 3], placings=placings))
    assert [athlete for _, athlete, _ in rows] == ["c", "b", "a"]
    assert [rank for rank, _, _ in rows] == [1, 2, 3]


def test_it_applies_the_tie_breaks_in_the_series_order() -> None:
    placings = [
        finish(1, "a", 1), finish(2, "a", 3),  # 10 + 4 = 14: a win
        finish(1, "b", 2), finish(2, "b", 2),  # 6 + 6 = 12 … level needs equal totals
        finish(1, "c", 3), finish(2, "c", 1),  # 4 + 10 = 14: a win, better last race
    ]  # fmt: skip
    table = (10, 6, 4)
    countback_first = Rules(points_table=table, tie_breaks=(TieBreak.COUNTBACK, TieBreak.LAST_RACE))
    assert overall(standings(countback_first, race_ids=[1, 2], placings=placings))[:2] == [
        (1, "c", 14),
        (2, "a", 14),
    ]
    fewer = Rules(points_table=table, tie_breaks=(TieBreak.FEWER_RACES,))
    assert overall(standings(fewer, race_ids=[1, 2], placings=placings))[:2] == [
        (1, "a", 14),
        (1, "c", 14),
    ]


def test_it_ranks_athletes_still_level_equal_and_lists_them_by_name() -> None:
    placings = [finish(1, "zoe", 1), finish(2, "anna", 1)]
    rows = overall(standings(TABLE, race_ids=[1, 2], placings=placings))
    assert rows == [(1, "anna", 100), (1, "zoe", 100)]


def test_it_scores_category_and_sex_standings_by_their_own_ranks() -> None:
    placings = [
        finish(1, "a", 1, sex="M", cat="M40", in_sex=1, in_cat=1),
        finish(1, "b", 2, sex="F", cat="W40", in_sex=1, in_cat=1),
        finish(1, "c", 3, sex="M", cat="M40", in_sex=2, in_cat=2),
    ]
    rows = standings(TABLE, race_ids=[1], placings=placings)
    by_scope = {(r.scope, r.athlete): (r.rank, r.points) for r in rows}
    assert by_scope == {
        ("overall", "a"): (1, 100), ("overall", "b"): (2, 80), ("overall", "c"): (3, 60),
        ("sex:M", "a"): (1, 100), ("sex:M", "c"): (2, 80), ("sex:F", "b"): (1, 100),
        ("cat:M40", "a"): (1, 100), ("cat:M40", "c"): (2, 80), ("cat:W40", "b"): (1, 100),
    }  # fmt: skip
    assert rows[0].scope == OVERALL


# Races of up to 12 athletes (of 15), each finishing order a permutation.
races = st.lists(
    st.permutations(list(range(15))).map(lambda order: order[:12]), min_size=1, max_size=6
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    races=races,
    best_of=st.one_of(st.none(), st.integers(1, 6)),
    formula=st.booleans(),
    breaks=st.permutations(list(TieBreak.values)),
)
def test_it_ranks_every_athlete_once_by_non_increasing_points(
    races: list[list[int]], best_of: int | None, formula: bool, breaks: list[str]
) -> None:
    scoring = Series.Scoring.FORMULA if formula else Series.Scoring.TABLE
    rules = Rules(scoring=scoring, points_table=(25, 18, 15, 12, 10), best_of=best_of)
    rules = Rules(
        **{**{f: getattr(rules, f) for f in rules.__slots__}, "tie_breaks": tuple(breaks)}
    )
    placings = [
        finish(race, f"athlete{n}", rank)
        for race, order in enumerate(races)
        for rank, n in enumerate(order, start=1)
    ]
    race_ids = list(range(len(races)))
    rows = [r for r in standings(rules, race_ids=race_ids, placings=placings) if r.scope == OVERALL]
    everyone = {p.athlete for p in placings}
    assert Counter(r.athlete for r in rows) == Counter(everyone)  # a permutation of athletes
    points = [r.points for r in rows]
    assert points == sorted(points, reverse=True)
    ranks = [r.rank for r in rows]
    assert ranks[0] == 1 and ranks == sorted(ranks)
    assert all(rank <= n for n, rank in enumerate(ranks, start=1))
    all_rules = Rules(scoring=scoring, points_table=rules.points_table, tie_breaks=tuple(breaks))
    every = {
        r.athlete: r.points
        for r in standings(all_rules, race_ids=list(range(len(races))), placings=placings)
    }
    for row in rows:
        assert row.points <= every[row.athlete]  # best N of M never beats all M
        assert sum(s.counted for s in row.scored) == min(len(row.scored), best_of or 99)
