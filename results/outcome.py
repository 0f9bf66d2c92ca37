"""An athlete's result from their counted reads, and ranks from everyone's: pure functions.

Times are integer milliseconds. Gun time runs from the athlete's gun (their wave's
start, else the race's); chip time from their own start-mat read when there is one,
else from the gun too. Splits are chip times at each point. Ranks are competition
ranks ("1, 1, 3"): athletes with the same ranked time share a rank and the next rank
skips; only finishers are ranked, so a DSQ, DNF or DNS moves nobody.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from results.filtering import Counted
from results.models import Result, TimingRules
from results.rules import RaceSetup

Status = Result.Status
Manual = Result.ManualStatus

MANUAL_STATUS: dict[str, str] = {
    Manual.DSQ: Status.DSQ,
    Manual.DNF: Status.DNF,
    Manual.DNS: Status.DNS,
}


@dataclass(slots=True)
class Outcome:
    """The computed part of a ``Result`` (what a recompute may change)."""

    status: str = Status.NOT_STARTED
    started_ms: int | None = None
    finished_ms: int | None = None
    gun_time_ms: int | None = None
    chip_time_ms: int | None = None
    time_ms: int | None = None
    splits: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Inputs:
    """The organizer's part of a result, and who the athlete is for ranking."""

    manual_status: str = ""
    penalty_ms: int = 0
    bonus_ms: int = 0


def split_key(point_id: int, n: int) -> str:
    """The splits key of the n-th pass at a point (n > 1 only on lap points)."""
    return f"p{point_id}" if n == 1 else f"p{point_id}.{n}"


def outcome_of(setup: RaceSetup, *, gun_ms: int, counted: Counted, inputs: Inputs) -> Outcome:
    """An athlete's times, splits and status from the reads that count."""
    times = counted.times
    start_pid, finish_pid = setup.start_point, setup.finish_point
    own_start = times[start_pid][0] if start_pid in times else None
    base = gun_ms if own_start is None else own_start
    out = Outcome(started_ms=own_start)
    for pid, passes in times.items():
        if pid != start_pid:
            for n, t in enumerate(passes, 1):
                out.splits[split_key(pid, n)] = t - base
    finishes = times.get(finish_pid, []) if finish_pid is not None else []
    if len(finishes) >= setup.laps:
        out.finished_ms = finish = finishes[setup.laps - 1]
        out.gun_time_ms, out.chip_time_ms = finish - gun_ms, finish - base
        raw = out.chip_time_ms if setup.rank_by == TimingRules.RankBy.CHIP else out.gun_time_ms
        out.time_ms = max(0, raw + inputs.penalty_ms - inputs.bonus_ms)
    out.status = _status(setup, out, bool(times), inputs.manual_status)
    return out


def _status(setup: RaceSetup, out: Outcome, seen: bool, manual: str) -> str:
    if manual in MANUAL_STATUS:
        return MANUAL_STATUS[manual]
    if out.finished_ms is not None:
        return Status.FINISHED
    if seen:
        return Status.DNF if setup.closed else Status.RACING
    return Status.DNS if setup.closed else Status.NOT_STARTED


Ranks = tuple[int | None, int | None, int | None]
NO_RANKS: Ranks = (None, None, None)


class _Ladder:
    """Competition ranks handed out in time order within one group."""

    __slots__ = ("count", "last_rank", "last_time")

    def __init__(self) -> None:
        self.count, self.last_rank, self.last_time = 0, 0, -1

    def rank(self, time_ms: int) -> int:
        self.count += 1
        if time_ms != self.last_time:
            self.last_rank, self.last_time = self.count, time_ms
        return self.last_rank


def rank_finishers(finishers: Iterable[tuple[int, int, str, int | None]]) -> dict[int, Ranks]:
    """Overall, sex and category ranks of ``(key, time_ms, sex, category_id)`` finishers.

    Athletes without a category get no category rank."""
    overall = _Ladder()
    by_sex: dict[str, _Ladder] = {}
    by_category: dict[int, _Ladder] = {}
    ranks: dict[int, Ranks] = {}
    for key, time_ms, sex, category in sorted(finishers, key=lambda f: f[1]):
        sex_rank = (by_sex.get(sex) or by_sex.setdefault(sex, _Ladder())).rank(time_ms)
        category_rank = None
        if category is not None:
            ladder = by_category.get(category) or by_category.setdefault(category, _Ladder())
            category_rank = ladder.rank(time_ms)
        ranks[key] = (overall.rank(time_ms), sex_rank, category_rank)
    return ranks
