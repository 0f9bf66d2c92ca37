"""A series' standings from its races' placings: pure functions, no database.

Points are given per standing: the overall one by overall rank, a sex's by rank
among that sex, a category's by rank in the category (categories are matched
across races by their code). A race's points in a standing go to its finishers
only; a DNF, DNS or DSQ scores nothing and is not a race entered.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from results.models.series import Series, TieBreak
from results.ranking import ranked

OVERALL = "overall"


@dataclass(frozen=True, slots=True)
class Rules:
    """How a series scores: ``Series`` without the database."""

    scoring: str = Series.Scoring.TABLE
    points_table: tuple[int, ...] = ()
    formula_n: int | None = None
    best_of: int | None = None
    tie_breaks: tuple[str, ...] = (TieBreak.COUNTBACK, TieBreak.LAST_RACE)

    @classmethod
    def of(cls, series: Series) -> Rules:
        return cls(
            scoring=series.scoring,
            points_table=tuple(series.points_table),
            formula_n=series.formula_n,
            best_of=series.best_of,
            # Only names this code knows: a row edited outside the admin cannot stop a recompute.
            tie_breaks=tuple(name for name in series.tie_breaks if name in _TIE_BREAKS),
        )


@dataclass(frozen=True, slots=True)
class Placing:
    """An athlete's finish in one race of the series."""

    race_id: int
    athlete: str
    name: str
    club: str
    sex: str
    category: str  # the category's code, "" without one
    rank_overall: int
    rank_sex: int | None
    rank_category: int | None


@dataclass(frozen=True, slots=True)
class Scored:
    race_id: int
    rank: int
    points: int
    counted: bool = False


@dataclass(slots=True)
class Standing:
    """One row of a standing, before it is stored."""

    scope: str
    athlete: str
    name: str
    club: str
    scored: list[Scored] = field(default_factory=list)
    rank: int = 0

    @property
    def points(self) -> int:
        return sum(s.points for s in self.scored if s.counted)


def points_for(rules: Rules, *, rank: int, ranked: int) -> int:
    """The points of ``rank`` in a race where ``ranked`` athletes are ranked."""
    if rules.scoring == Series.Scoring.FORMULA:
        n = ranked if rules.formula_n is None else rules.formula_n
        return max(0, n - rank + 1)
    return rules.points_table[rank - 1] if rank <= len(rules.points_table) else 0


def _scopes(placing: Placing) -> Iterable[tuple[str, int | None]]:
    yield OVERALL, placing.rank_overall
    if placing.sex:
        yield f"sex:{placing.sex}", placing.rank_sex
    if placing.category:
        yield f"cat:{placing.category}", placing.rank_category


def standings(
    rules: Rules, *, race_ids: Sequence[int], placings: Iterable[Placing]
) -> list[Standing]:
    """Every standing of the series, each ranked; ``race_ids`` in the series' order.

    ``placings`` in race order, each race's by rank: an athlete's name and club are their
    latest entry's, and of two entries of one athlete in a race the better one counts."""
    by_scope: dict[tuple[str, str], Standing] = {}
    field_size: dict[tuple[str, int], int] = {}
    entries: list[tuple[Standing, int, int]] = []
    seen: set[tuple[str, int]] = set()
    for placing in placings:
        if (placing.athlete, placing.race_id) in seen:
            continue
        seen.add((placing.athlete, placing.race_id))
        for scope, rank in _scopes(placing):
            if rank is None:
                continue
            row = by_scope.get((scope, placing.athlete))
            if row is None:
                row = by_scope[scope, placing.athlete] = Standing(scope, placing.athlete, "", "")
            row.name, row.club = placing.name, placing.club
            field_size[scope, placing.race_id] = field_size.get((scope, placing.race_id), 0) + 1
            entries.append((row, placing.race_id, rank))
    for row, race_id, rank in entries:
        points = points_for(rules, rank=rank, ranked=field_size[row.scope, race_id])
        row.scored.append(Scored(race_id, rank, points))
    order = {race_id: i for i, race_id in enumerate(race_ids)}
    for row in by_scope.values():
        row.scored.sort(key=lambda s: order[s.race_id])
        row.scored = _counted(row.scored, rules.best_of)
    result: list[Standing] = []
    for scope in sorted({scope for scope, _ in by_scope}, key=_scope_order):
        rows = [row for (s, _), row in by_scope.items() if s == scope]
        result += rank_standing(rules, rows=rows, race_ids=race_ids)
    return result


def _scope_order(scope: str) -> tuple[int, str]:
    return (scope != OVERALL, scope)


def _counted(scored: list[Scored], best_of: int | None) -> list[Scored]:
    """The results marked counted: the best ``best_of`` by points (earlier races first
    among equal points), or all of them."""
    best = sorted(range(len(scored)), key=lambda i: -scored[i].points)[:best_of]
    keep = set(best)
    return [Scored(s.race_id, s.rank, s.points, counted=i in keep) for i, s in enumerate(scored)]


def rank_standing(rules: Rules, *, rows: list[Standing], race_ids: Sequence[int]) -> list[Standing]:
    """The rows in order, ranked: more points first, then the tie-breaks in the series'
    order; athletes still level share a rank (and are listed by name)."""
    breaks = [_TIE_BREAKS[name](race_ids, rows) for name in rules.tie_breaks]

    def key(row: Standing) -> tuple[object, ...]:
        return (-row.points, *(tie_break(row) for tie_break in breaks))

    by_name = sorted(rows, key=lambda row: (row.name.casefold(), row.athlete))
    return ranked(by_name, key=key, assign=_set_rank)


def _set_rank(row: Standing, rank: int) -> None:
    row.rank = rank


def _countback(
    race_ids: Sequence[int], rows: list[Standing]
) -> Callable[[Standing], tuple[tuple[float, int], ...]]:
    """More wins, then more second places, and so on (every result, counted or not)."""

    def key(row: Standing) -> tuple[tuple[float, int], ...]:
        # (place, -times) by place, then a sentinel: the first place where two rows
        # differ is the one only the better row has, or where it has more.
        places = Counter(s.rank for s in row.scored)
        return (*((rank, -n) for rank, n in sorted(places.items())), (math.inf, 0))

    return key


def _last_race(
    race_ids: Sequence[int], rows: list[Standing]
) -> Callable[[Standing], tuple[float, ...]]:
    """A better place in the last race; if neither ran it, the race before, and so on."""

    def key(row: Standing) -> tuple[float, ...]:
        ranks = {s.race_id: s.rank for s in row.scored}
        return tuple(ranks.get(race_id, math.inf) for race_id in reversed(race_ids))

    return key


def _fewer_races(race_ids: Sequence[int], rows: list[Standing]) -> Callable[[Standing], int]:
    return lambda row: len(row.scored)


_TieBreak = Callable[[Sequence[int], list[Standing]], Callable[[Standing], object]]
_TIE_BREAKS: dict[str, _TieBreak] = {
    TieBreak.COUNTBACK: _countback,
    TieBreak.LAST_RACE: _last_race,
    TieBreak.FEWER_RACES: _fewer_races,
}
