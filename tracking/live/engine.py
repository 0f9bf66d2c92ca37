"""The live state of one race: fixes in, every athlete's standing out, once per tick.

Plain Python, no I/O: the ticker feeds it fixes and the clock, and sends what
``tick`` returns. Each changed athlete is encoded here once per tick; spectators'
frames are joined from those pieces, never re-encoded per viewer.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from pace.lib.jsonfast import dumps
from tracking.live.projection import CourseLine

LEADERS = 10
FINISH_TOLERANCE_M = 30.0  # GPS rarely puts a finisher exactly on the line
GAP_BUCKET_M = 100.0
MAX_SPEED_MS = 40.0  # faster than any athlete: a jump further than this is GPS noise
SPEED_TAU_S = 20.0  # smoothing time constant of the speed
MOVING_M = 5.0  # moving less than this is standing still
# A split passed between two fixes both further than this from it: no fix shows the
# athlete there (a shortcut, or a long gap in the signal): race control checks.
MISSED_M = 200.0
# About the size of one ``[id, lat, lon, distance, status, rank, pace, gap, finish, flags]``
# entry of a field frame with its comma (measured: tests/test_field_budget.py).
COMPACT_ENTRY_BYTES = 64
# What a default viewer's focus (the leaders' states, every tick they move) and the
# frames around it take of the viewer's budget; the field gets the rest. Measured: 2.9
# KB/s of ticks at 60, 1,000 and 5,000 athletes (bench.pages); at 2,500 the 1,000-athlete
# race's 54 KB field every 26 s put a viewer at 5.0 KB/s on the socket alone.
FOCUS_BYTES_PER_S = 3000
MAX_DEFAULT_FIELD_INTERVAL = 180  # a viewer may ask for 1-60 s; the race's default may be longer
OFF_COURSE = 1  # flags: further from the course than the race's threshold


@dataclass(frozen=True, slots=True)
class Fix:
    athlete: int
    t: float
    lat: float
    lon: float
    hr: float | None = None


@dataclass(frozen=True, slots=True)
class Split:
    name: str
    distance: float


@dataclass(frozen=True, slots=True)
class Crossing:
    athlete: int
    point: str
    distance: float
    time: float
    rank: int


@dataclass(slots=True)
class Athlete:
    id: int
    bib: str
    name: str
    category: str = ""
    lat: float | None = None
    lon: float | None = None
    t: float | None = None
    distance: float = 0.0
    off_course: float = 0.0
    speed: float = 0.0
    hr: float | None = None
    moved_at: float | None = None
    finish_time: float | None = None
    next_split: int = 0
    gap: float | None = None
    rank: int | None = None
    status: str = "not_started"
    eta: float | None = None
    split_eta: float | None = None
    key: tuple[object, ...] = ()
    compact_key: tuple[object, ...] = ()
    withdrawn: bool = False  # race control marked the athlete DNF (tracking.control)
    missed: list[str] = field(default_factory=list)  # splits passed with no fix near them


@dataclass(slots=True)
class TickOutput:
    seq: int
    t: float
    changed: list[tuple[int, str]]  # (athlete id, encoded state object)
    field: list[tuple[int, str]]  # (athlete id, encoded compact entry)
    leaders: list[int]
    crossings: list[Crossing]
    athletes: int
    field_interval: int


def default_field_interval(athletes: int, budget_bytes_per_s: int) -> int:
    """Seconds between field frames that keep a viewer's whole traffic (its focus's ticks
    and the whole field) within its budget."""
    field_budget = max(1, budget_bytes_per_s - FOCUS_BYTES_PER_S)
    seconds = math.ceil(athletes * COMPACT_ENTRY_BYTES / field_budget)
    return max(1, min(MAX_DEFAULT_FIELD_INTERVAL, seconds))


@dataclass
class RaceEngine:
    """One race's athletes, moved along the course by their fixes."""

    race_id: int
    start: float
    course: CourseLine | None
    splits: Sequence[Split]
    athletes: dict[int, Athlete]
    time_limit: float | None = None
    lost_after: float = 60.0
    stopped_after: float = 120.0
    field_budget: int = 5000
    off_course_after: float = 150.0  # metres from the course: shown to spectators as off course
    seq: int = 0
    pending: dict[int, list[Fix]] = field(default_factory=lambda: defaultdict(list))
    first_at: dict[int, float] = field(default_factory=dict)
    crossings: list[Crossing] = field(default_factory=list)  # since the last tick
    split_counts: list[int] = field(default_factory=list)
    finishers: int = 0

    def __post_init__(self) -> None:
        length = self.length
        # The finish is its own crossing; the start line is timing's business, not GPS's.
        self.splits = [s for s in self.splits if 0 < s.distance < length - FINISH_TOLERANCE_M]
        self.split_counts = [0] * len(self.splits)

    @property
    def length(self) -> float:
        return self.course.length if self.course else 0.0

    @property
    def field_interval(self) -> int:
        return default_field_interval(len(self.athletes), self.field_budget)

    def forget_encodings(self) -> None:
        """Make the next tick encode every athlete (the live store lost its copy)."""
        for athlete in self.athletes.values():
            athlete.key = athlete.compact_key = ()

    def add_fixes(self, fixes: Iterable[Fix]) -> None:
        """Queue fixes for the next tick; fixes of unknown athletes are ignored."""
        for fix in fixes:
            if fix.athlete in self.athletes:
                self.pending[fix.athlete].append(fix)

    def apply_pending(self) -> None:
        """Move the athletes by the fixes queued so far. The ticker calls this between
        ticks too, so that a tick is left with standings and encoding: what it takes
        between the tick's clock and the spectators' screens is the latency they see."""
        crossings = self.crossings
        for athlete_id, fixes in self.pending.items():
            athlete = self.athletes[athlete_id]
            for fix in sorted(fixes, key=lambda f: f.t):
                self._apply(athlete, fix, crossings)
        self.pending.clear()

    def tick(self, now: float) -> TickOutput:
        self.apply_pending()
        crossings, self.crossings = self.crossings, []
        for athlete in self.athletes.values():
            athlete.status = self._status(athlete, now)
        leaders = self._rank()
        self.seq += 1
        changed, compact = self._encode_changed()
        return TickOutput(
            seq=self.seq,
            t=round(now, 3),
            changed=changed,
            field=compact,
            leaders=leaders,
            crossings=crossings,
            athletes=len(self.athletes),
            field_interval=self.field_interval,
        )

    # --- one fix -------------------------------------------------------------------
    def _apply(self, athlete: Athlete, fix: Fix, crossings: list[Crossing]) -> None:
        if athlete.t is not None and fix.t <= athlete.t:
            return  # late or repeated: stored, but the live state only moves forward
        if fix.hr is not None:
            athlete.hr = fix.hr
        prev_t, prev_d = athlete.t, athlete.distance
        athlete.lat, athlete.lon, athlete.t = fix.lat, fix.lon, fix.t
        if athlete.moved_at is None:
            athlete.moved_at = fix.t
        if self.course is None or fix.t < self.start or athlete.finish_time is not None:
            return
        dt = fix.t - max(prev_t if prev_t is not None else self.start, self.start)
        reach = prev_d + MAX_SPEED_MS * max(dt, 1.0)
        projection = self.course.project(fix.lat, fix.lon, previous=prev_d, ahead=reach - prev_d)
        athlete.off_course = projection.off_course
        distance = max(prev_d, min(projection.distance, reach))
        if distance - prev_d >= MOVING_M:
            athlete.moved_at = fix.t
        if dt > 0:
            alpha = 1.0 - math.exp(-dt / SPEED_TAU_S)
            athlete.speed += alpha * ((distance - prev_d) / dt - athlete.speed)
        start_t = prev_t if prev_t is not None and prev_t >= self.start else self.start
        self._passages(athlete, prev_d, distance, start_t, fix.t, crossings)
        athlete.distance = distance

    def _passages(
        self,
        athlete: Athlete,
        d0: float,
        d1: float,
        t0: float,
        t1: float,
        crossings: list[Crossing],
    ) -> None:
        """Split crossings, the finish and leader passages between two projections."""

        def at(d: float) -> float:
            return t1 if d1 <= d0 else t0 + (t1 - t0) * (d - d0) / (d1 - d0)

        while athlete.next_split < len(self.splits):
            split = self.splits[athlete.next_split]
            if d1 < split.distance:
                break
            self.split_counts[athlete.next_split] += 1
            if split.distance - d0 > MISSED_M and d1 - split.distance > MISSED_M:
                athlete.missed.append(split.name)
            rank = self.split_counts[athlete.next_split]
            crossings.append(
                Crossing(athlete.id, split.name, split.distance, at(split.distance), rank)
            )
            athlete.next_split += 1
        for bucket in range(int(d0 // GAP_BUCKET_M) + 1, int(d1 // GAP_BUCKET_M) + 1):
            passed = at(bucket * GAP_BUCKET_M)
            leader = self.first_at.setdefault(bucket, passed)
            athlete.gap = max(0.0, passed - leader)
        if d1 >= self.length - FINISH_TOLERANCE_M:
            athlete.finish_time = at(min(d1, self.length))
            self.finishers += 1
            crossings.append(
                Crossing(athlete.id, "Finish", self.length, athlete.finish_time, self.finishers)
            )

    # --- every athlete, every tick ------------------------------------------------
    def _status(self, athlete: Athlete, now: float) -> str:
        if athlete.finish_time is not None:
            return "finished"
        if athlete.withdrawn:
            return "dnf"
        if athlete.t is None or now < self.start:
            return "not_started"
        if self.time_limit is not None and now > self.start + self.time_limit:
            return "dnf"
        if now - athlete.t > self.lost_after:
            return "lost_signal"
        moved_at = max(athlete.moved_at or self.start, self.start)
        if athlete.t - moved_at > self.stopped_after:
            return "stopped"
        return "racing"

    def _rank(self) -> list[int]:
        ranked = [
            a
            for a in self.athletes.values()
            if a.status in ("racing", "stopped", "lost_signal", "finished")
        ]
        ranked.sort(key=lambda a: (a.finish_time is None, a.finish_time or 0.0, -a.distance, a.id))
        for rank, athlete in enumerate(ranked, 1):
            athlete.rank = rank
        for athlete in self.athletes.values():
            if athlete.status in ("not_started", "dnf"):
                athlete.rank = None
            self._eta(athlete)
        return [a.id for a in ranked[:LEADERS]]

    def _eta(self, athlete: Athlete) -> None:
        athlete.eta = athlete.split_eta = None
        if athlete.status not in ("racing", "stopped") or athlete.t is None:
            return
        elapsed = athlete.t - self.start
        average = athlete.distance / elapsed if elapsed > 0 else 0.0
        speed = (athlete.speed + average) / 2
        if speed < 0.3:
            return
        athlete.eta = athlete.t + (self.length - athlete.distance) / speed
        if athlete.next_split < len(self.splits):
            split = self.splits[athlete.next_split]
            athlete.split_eta = athlete.t + (split.distance - athlete.distance) / speed

    def _encode_changed(self) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
        changed: list[tuple[int, str]] = []
        compact: list[tuple[int, str]] = []
        views = self._views
        for athlete in self.athletes.values():
            key = _state_key(athlete)
            if key == athlete.key:
                continue  # the compact entry is made of what the key holds: unchanged too
            athlete.key = key
            state, entry = views(athlete)
            changed.append((athlete.id, dumps(state)))
            ckey = tuple(entry)
            if ckey != athlete.compact_key:
                athlete.compact_key = ckey
                compact.append((athlete.id, dumps(entry)))
        return changed, compact

    # --- what spectators see ------------------------------------------------------
    def state(self, athlete: Athlete) -> dict[str, object]:
        """The athlete state object of PROTOCOL.md §3."""
        return self._views(athlete)[0]

    def compact(self, athlete: Athlete) -> list[object]:
        """``[id, lat, lon, distance, status, rank, pace, gap, finish, flags]``: an athlete
        in a field frame. The first five are PROTOCOL.md's; the others are appended
        (docs/live-tracking.md, "Protocol additions"): pace in s/km, gap in s behind the
        leader, finish in s after the start (the finish time once finished, else the
        projected one), flags (1: off course)."""
        return self._views(athlete)[1]

    def flags(self, athlete: Athlete) -> int:
        """What spectators are told beside the status: ``OFF_COURSE`` while an athlete
        racing or stopped is further from the course than the race's threshold."""
        off = athlete.status in ("racing", "stopped") and athlete.off_course > self.off_course_after
        return OFF_COURSE if off else 0

    def _views(self, a: Athlete) -> tuple[dict[str, object], list[object]]:
        """The athlete's state object and compact entry, built together: they share their
        pace, gap, flags and finish, and every athlete that moved needs both every tick
        (5,000 athletes: the tick's largest cost, on its way to the screens)."""
        status, speed, rank, gap, eta = a.status, a.speed, a.rank, a.gap, a.eta
        lat, lon, distance, length = a.lat, a.lon, a.distance, self.length
        flags = self.flags(a)
        pace = round(1000 / speed) if speed >= 0.3 and status in ("racing", "stopped") else None
        gap_s = round(gap) if gap is not None and rank is not None else None
        state: dict[str, object] = {
            "id": a.id,
            "bib": a.bib,
            "name": a.name,
            "lat": None if lat is None else round(lat, 6),
            "lon": None if lon is None else round(lon, 6),
            "t": a.t,
            "distance": round(distance, 1),
            "progress": round(min(1.0, distance / length), 4) if length else 0.0,
            "speed": round(speed, 2),
            "status": status,
            "off_course": round(a.off_course),
        }
        if flags:
            state["flags"] = flags
        if a.category:
            state["category"] = a.category
        if a.hr is not None:
            state["hr"] = round(a.hr)
        if pace is not None:
            state["pace"] = pace
        if rank is not None:
            state["rank"] = rank
        if gap_s is not None:
            state["gap"] = gap_s
        if eta is not None:
            state["eta"] = round(eta)
        finish: int | None = None
        if a.finish_time is not None:
            state["finish_time"] = round(a.finish_time - self.start, 1)
            finish = round(a.finish_time - self.start)
        elif eta is not None:
            finish = round(eta - self.start)
        if a.split_eta is not None:
            split = self.splits[a.next_split]
            state["next_split"] = {
                "name": split.name,
                "distance": split.distance,
                "eta": round(a.split_eta),
            }
        entry: list[object] = [
            a.id,
            None if lat is None else round(lat, 5),
            None if lon is None else round(lon, 5),
            round(distance),
            status,
            rank,
            pace,
            gap_s,
            finish,
            flags,
        ]
        return state, entry


def _state_key(a: Athlete) -> tuple[object, ...]:
    eta = None if a.eta is None else round(a.eta)
    return (a.t, a.status, a.rank, None if a.gap is None else round(a.gap), eta, a.hr)
