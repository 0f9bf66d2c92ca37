"""Which reads count: duplicates, ghosts and reads outside an athlete's race are set aside.

Pure functions over plain tuples, so the full recompute (10,000 athletes at once)
and the live path (one athlete) apply the same rules at the same cost per read.
A read is ``(time_ms, point_id, source, read_id)``; the rules, in order:

1. Outside the race: before the athlete's gun (their wave's start), after the
   cut-off, or faster from the gun than ``max_speed_mps`` allows (a ghost: a chip
   read from the finish area long before its athlete could be there).
2. A chip (file, push or manual) read at a point beats the GPS crossings there:
   the mat is exact, the phone's crossing an estimate.
3. Nothing before the athlete's own start (their first start-mat read).
4. At a point, a read closer than the point's ``min_gap_ms`` to the last one
   counted is a duplicate (an athlete standing on the mat); a point counts one
   pass, or one a lap for lap points and a lap race's finish; more are repeats.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from results.models import TimingPoint, TimingRead
from results.rules import RaceSetup

Read = tuple[int, int, str, int]  # (time_ms, point_id, source, read_id)

GPS = TimingRead.Source.GPS

BEFORE_START = "before_start"
AFTER_CUTOFF = "after_cutoff"
TOO_FAST = "too_fast"
GPS_OVERRULED = "gps_overruled"
DUPLICATE = "duplicate"
REPEAT = "repeat"
UNKNOWN_POINT = "unknown_point"

REASONS = {
    BEFORE_START: "before the athlete's start",
    AFTER_CUTOFF: "after the cut-off",
    TOO_FAST: "faster than anyone could be there (a ghost read)",
    GPS_OVERRULED: "a chip read at the same point counts instead",
    DUPLICATE: "too close to the previous read at this point",
    REPEAT: "this point was already passed",
    UNKNOWN_POINT: "not a timing point of this race",
}


@dataclass(slots=True)
class Counted:
    """An athlete's reads that count (times per point, in order) and those set aside."""

    times: dict[int, list[int]] = field(default_factory=dict)
    rejected: list[tuple[Read, str]] = field(default_factory=list)


def count_reads(setup: RaceSetup, *, gun_ms: int, reads: list[Read]) -> Counted:
    """Sort an athlete's reads into those that count and those set aside (with why).

    Run for every athlete of a race in a recompute: the usual point, read once, takes
    the short way."""
    counted = Counted()
    rejected, times = counted.rejected, counted.times
    by_point = _within_race(setup, gun_ms, reads, rejected)
    start = setup.start_point
    own_start = None
    if start in by_point:
        starts = _chip_first(by_point.pop(start), rejected)
        times[start] = _passes(setup, start, starts, rejected)
        own_start = times[start][0]
    for pid, point_reads in by_point.items():
        if len(point_reads) == 1:
            read = point_reads[0]
            if own_start is not None and read[0] < own_start:
                rejected.append((read, BEFORE_START))
            else:
                times[pid] = [read[0]]
            continue
        point_reads = _chip_first(point_reads, rejected)
        if own_start is not None:
            rejected += [(r, BEFORE_START) for r in point_reads if r[0] < own_start]
            point_reads = [r for r in point_reads if r[0] >= own_start]
        passes = _passes(setup, pid, point_reads, rejected)
        if passes:
            times[pid] = passes
    return counted


def _chip_first(reads: list[Read], rejected: list[tuple[Read, str]]) -> list[Read]:
    """Rule 2: at one point, GPS crossings count only where no chip read does."""
    if len(reads) == 1 or all(read[2] == GPS for read in reads):
        return reads
    rejected += [(r, GPS_OVERRULED) for r in reads if r[2] == GPS]
    return [r for r in reads if r[2] != GPS]


def _within_race(
    setup: RaceSetup, gun_ms: int, reads: list[Read], rejected: list[tuple[Read, str]]
) -> dict[int, list[Read]]:
    """Rule 1, and the reads that pass it grouped by point."""
    points = setup.points
    end = None if setup.cutoff_ms is None else gun_ms + setup.cutoff_ms
    fastest = setup.max_speed_mps
    by_point: dict[int, list[Read]] = {}
    for read in reads:
        t, pid = read[0], read[1]
        point = points.get(pid)
        if point is None:
            rejected.append((read, UNKNOWN_POINT))
        elif t < gun_ms:
            rejected.append((read, BEFORE_START))
        elif end is not None and t > end:
            rejected.append((read, AFTER_CUTOFF))
        elif fastest and point.distance_m * 1000 > fastest * (t - gun_ms):
            rejected.append((read, TOO_FAST))
        elif pid in by_point:
            by_point[pid].append(read)
        else:
            by_point[pid] = [read]
    return by_point


def _passes(
    setup: RaceSetup, pid: int, reads: list[Read], rejected: list[tuple[Read, str]]
) -> list[int]:
    """Rule 4: the times of the passes counted at one point, earliest first."""
    point = setup.points[pid]
    limit = setup.laps if point.repeats or point.kind == TimingPoint.Kind.FINISH else 1
    times: list[int] = []
    for read in sorted(reads):
        if times and read[0] - times[-1] < point.min_gap_ms:
            rejected.append((read, DUPLICATE))
        elif len(times) >= limit:
            rejected.append((read, REPEAT))
        else:
            times.append(read[0])
    return times
