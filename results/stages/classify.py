"""A stage race's classifications from its stages' results: pure functions, no database.

The rules, as in road stage races:
- General classification (GC): the sum of a rider's stage times (penalties included:
  they are the results' own), less time bonuses for the stage's first finishers and
  for the first over intermediate sprints. Only riders who finished every stage run so
  far are classified: a DNF, DNS or DSQ on a stage leaves the GC, and every other
  classification. Ties: the lower sum of stage placings, then the better placing on
  the last stage.
- Points: points for stage placings and for intermediate sprints; ties by more stage
  wins, then the GC. Mountains: points over climbs; ties by the GC.
- Teams: a team's stage time is the sum of its best ``team_riders`` finishers' times
  (without bonuses); a team is the riders' club, written as they entered it (case and
  spaces aside), since each stage's entries are separate registrations and only the
  club is typed the same on each. A team needs that many finishers on every stage run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from results.models.stages import StagePoint
from results.ranking import ranked


@dataclass(frozen=True, slots=True)
class StageResult:
    """A rider's result on one stage."""

    stage: int
    rider: str
    name: str
    club: str
    finished: bool
    time_ms: int | None = None
    rank: int | None = None
    # When the rider crossed each timing point: {point id: ms since the epoch}.
    passes: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PointRule:
    """An intermediate sprint or climb: its stage, timing point, points and bonuses."""

    stage: int
    point_id: int
    kind: str
    points: tuple[int, ...] = ()
    bonuses_s: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Rules:
    finish_bonuses_s: tuple[int, ...] = (10, 6, 4)
    finish_points: tuple[int, ...] = (25, 20, 16, 14, 12, 10, 8, 6, 4, 2)
    team_riders: int = 3
    points: tuple[PointRule, ...] = ()


@dataclass(slots=True)
class RiderLine:
    rider: str
    name: str
    club: str
    time_ms: int = 0
    bonus_ms: int = 0
    points: int = 0
    mountains: int = 0
    placings: int = 0
    last_placing: int = 0
    stage_wins: int = 0
    rank: int = 0


@dataclass(slots=True)
class TeamLine:
    team: str
    time_ms: int = 0
    rank: int = 0


@dataclass(slots=True)
class Classifications:
    stages_run: list[int]
    general: list[RiderLine]
    points: list[RiderLine]
    mountains: list[RiderLine]
    teams: list[TeamLine]


def _nth(table: Sequence[int], place: int) -> int:
    return table[place - 1] if 0 < place <= len(table) else 0


def _set_rank(line: RiderLine | TeamLine, rank: int) -> None:
    line.rank = rank


def classify(rules: Rules, results: Iterable[StageResult]) -> Classifications:
    """Every classification after the stages that have results."""
    by_stage = _one_per_rider(results)
    stages = sorted(s for s, rows in by_stage.items() if any(r.finished for r in rows))
    riders = _riders_in_race(by_stage, stages)
    by_name = sorted(riders.values(), key=lambda r: (r.name.casefold(), r.rider))
    for stage in stages:
        _score_stage(rules, stage, by_stage[stage], riders)
    general = ranked(
        by_name, key=lambda r: (r.time_ms, r.placings, r.last_placing), assign=_set_rank
    )
    gc = {line.rider: line.rank for line in general}
    points = ranked(
        _copies(r for r in by_name if r.points),
        key=lambda r: (-r.points, -r.stage_wins, gc[r.rider]),
        assign=_set_rank,
    )
    mountains = ranked(
        _copies(r for r in by_name if r.mountains),
        key=lambda r: (-r.mountains, gc[r.rider]),
        assign=_set_rank,
    )
    teams = sorted(_teams(rules, by_stage, stages), key=lambda t: t.team.casefold())
    teams = ranked(teams, key=lambda t: t.time_ms, assign=_set_rank)
    return Classifications(stages, general, points, mountains, teams)


def _one_per_rider(results: Iterable[StageResult]) -> dict[int, list[StageResult]]:
    """Each stage's results, one a rider (of two entries in a stage, the better result)."""
    best: dict[tuple[int, str], StageResult] = {}
    for result in results:
        other = best.get((result.stage, result.rider))
        if other is None or _better(result, other):
            best[result.stage, result.rider] = result
    by_stage: dict[int, list[StageResult]] = {}
    for result in best.values():
        by_stage.setdefault(result.stage, []).append(result)
    return by_stage


def _better(result: StageResult, other: StageResult) -> bool:
    if result.finished != other.finished:
        return result.finished
    return (result.rank or 0) < (other.rank or 0)


def _copies(lines: Iterable[RiderLine]) -> list[RiderLine]:
    """The lines with their own rank: one rider's line is in several classifications."""
    return [RiderLine(**{name: getattr(line, name) for name in line.__slots__}) for line in lines]


def _riders_in_race(
    by_stage: dict[int, list[StageResult]], stages: list[int]
) -> dict[str, RiderLine]:
    """The riders who finished every stage run, by key (named as on their last stage)."""
    finishers = [{r.rider: r for r in by_stage[s] if r.finished} for s in stages]
    if not finishers:
        return {}
    keep = set.intersection(*(set(f) for f in finishers))
    last = finishers[-1]
    return {key: RiderLine(key, last[key].name, last[key].club) for key in keep}


def _score_stage(
    rules: Rules, stage: int, rows: list[StageResult], riders: dict[str, RiderLine]
) -> None:
    for row in rows:
        line = riders.get(row.rider)
        if line is None or row.time_ms is None or row.rank is None:
            continue
        bonus = _nth(rules.finish_bonuses_s, row.rank) * 1000
        line.time_ms += row.time_ms - bonus
        line.bonus_ms += bonus
        line.points += _nth(rules.finish_points, row.rank)
        line.placings += row.rank
        line.last_placing = row.rank
        line.stage_wins += row.rank == 1
    for rule in rules.points:
        if rule.stage == stage:
            _score_point(rule, rows, riders)


def _score_point(rule: PointRule, rows: list[StageResult], riders: dict[str, RiderLine]) -> None:
    """Points and bonuses by the order over the line; riders who left later are not
    replaced by those behind them."""
    crossed = sorted((r.passes[rule.point_id], r.rider) for r in rows if rule.point_id in r.passes)
    for place, (_, rider) in enumerate(crossed, start=1):
        line = riders.get(rider)
        if line is None:
            continue
        if rule.kind == StagePoint.Kind.CLIMB:
            line.mountains += _nth(rule.points, place)
        else:
            line.points += _nth(rule.points, place)
        bonus = _nth(rule.bonuses_s, place) * 1000
        line.time_ms -= bonus
        line.bonus_ms += bonus


def team_key(club: str) -> str:
    return " ".join(club.split()).casefold()


def _teams(
    rules: Rules, by_stage: dict[int, list[StageResult]], stages: list[int]
) -> list[TeamLine]:
    names: dict[str, str] = {}
    per_stage: list[dict[str, int]] = []
    for stage in stages:
        times: dict[str, list[int]] = {}
        for row in by_stage[stage]:
            key = team_key(row.club)
            if key and row.finished and row.time_ms is not None:
                times.setdefault(key, []).append(row.time_ms)
                names.setdefault(key, " ".join(row.club.split()))
        n = rules.team_riders
        per_stage.append({key: sum(sorted(t)[:n]) for key, t in times.items() if len(t) >= n})
    if not per_stage:
        return []
    keep = set.intersection(*(set(times) for times in per_stage))
    return [TeamLine(names[key], sum(times[key] for times in per_stage)) for key in keep]
