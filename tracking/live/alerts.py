"""Race control's alerts, from the live engine's state in memory, once per tick.

Plain functions and one small book of open incidents: no I/O, no database. The ticker
updates the book after each tick (``RaceTicker``) and sends race control's screens the
whole list when it changed (``control.alerts`` on ``control.RACE_ID``); a new incident
of a kind that is e-mailed (off course) is handed to ``tracking.signals.alert_raised``.

An incident lasts while its condition holds. Off course ends only when the athlete is
back well inside the threshold (``OFF_COURSE_BACK``): GPS noise around the threshold
opens one incident, not one per tick, and so one e-mail.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from tracking.live.engine import Athlete

OFF_COURSE = "off_course"
STOPPED = "stopped"
LOST_SIGNAL = "lost_signal"
MISSED_CHECKPOINT = "missed_checkpoint"
KINDS = (OFF_COURSE, MISSED_CHECKPOINT, STOPPED, LOST_SIGNAL)
MAILED = frozenset({OFF_COURSE})  # and SOS (tracking.control.mail), which is not computed here
OFF_COURSE_BACK = 0.8  # an off-course incident ends below this share of the threshold
# Statuses in which an athlete is out on the course (not before, not after, not out).
ON_COURSE = frozenset({"racing", "stopped", "lost_signal"})


@dataclass(frozen=True, slots=True)
class Thresholds:
    """A race's safety settings (``tracking.models.RaceSafety``) in seconds and metres."""

    off_course_m: float = 150.0
    stopped_s: float = 600.0
    lost_s: float = 300.0

    def __post_init__(self) -> None:
        for name in ("off_course_m", "stopped_s", "lost_s"):
            value = getattr(self, name)
            if not math.isfinite(value) or value <= 0:
                raise ValueError(f"{name} must be a positive number, not {value!r}")


@dataclass(frozen=True, slots=True)
class Alert:
    """One open incident of one athlete, as race control's screens get it."""

    kind: str
    athlete: int
    since: float  # the tick that opened it
    detail: str


def conditions(
    athlete: Athlete,
    *,
    now: float,
    start: float,
    thresholds: Thresholds,
    open_kinds: frozenset[str] = frozenset(),
) -> dict[str, str]:
    """``{kind: detail}`` of what is wrong with ``athlete`` now (empty: nothing).

    ``open_kinds``: the kinds already open for this athlete (off course then ends only
    below ``OFF_COURSE_BACK`` of the threshold)."""
    if athlete.status not in ON_COURSE or athlete.t is None or not now >= start:  # NaN too
        return {}
    if not math.isfinite(athlete.t):
        return {}
    found: dict[str, str] = {}
    silent = now - athlete.t
    if math.isfinite(silent) and silent > thresholds.lost_s:
        found[LOST_SIGNAL] = f"no fix for {_duration(silent)}"
    moved_at = max(athlete.moved_at if athlete.moved_at is not None else start, start)
    still = athlete.t - moved_at
    if LOST_SIGNAL not in found and math.isfinite(still) and still > thresholds.stopped_s:
        found[STOPPED] = f"not moving for {_duration(still)}"
    limit = thresholds.off_course_m
    if OFF_COURSE in open_kinds:
        limit *= OFF_COURSE_BACK
    if math.isfinite(athlete.off_course) and athlete.off_course > limit:
        found[OFF_COURSE] = f"{round(athlete.off_course)} m from the course"
    if athlete.missed:
        found[MISSED_CHECKPOINT] = "no fix near " + ", ".join(athlete.missed)
    return found


def _duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes >= 60:
        return f"{minutes // 60} h {minutes % 60:02d} min"
    return f"{minutes} min" if minutes else f"{int(seconds)} s"


@dataclass(slots=True)
class Changes:
    opened: list[Alert]
    closed: list[Alert]

    @property
    def any(self) -> bool:
        return bool(self.opened or self.closed)


@dataclass
class AlertBook:
    """The open incidents of a race, updated from its athletes each tick."""

    open: dict[tuple[int, str], Alert] = field(default_factory=dict)
    details: dict[tuple[int, str], str] = field(default_factory=dict)
    detail_changed: bool = False

    def update(
        self, athletes: Iterable[Athlete], *, now: float, start: float, thresholds: Thresholds
    ) -> Changes:
        """Open what is newly wrong, close what is right again; details follow along."""
        opened: list[Alert] = []
        seen: set[tuple[int, str]] = set()
        kinds_of: dict[int, set[str]] = {}
        for key in self.open:
            kinds_of.setdefault(key[0], set()).add(key[1])
        self.detail_changed = False
        lost_s, stopped_s, off_m = thresholds.lost_s, thresholds.stopped_s, thresholds.off_course_m
        for athlete in athletes:
            # The common case first, cheaply: out on the course and nothing wrong (or not
            # out on the course), and no incident open. NaN fails every comparison, so an
            # odd value takes the long way, which handles it.
            if athlete.id not in kinds_of:
                t = athlete.t
                if athlete.status not in ON_COURSE or t is None:
                    continue
                moved = athlete.moved_at if athlete.moved_at is not None else start
                if (
                    now - t <= lost_s
                    and t - max(moved, start) <= stopped_s
                    and athlete.off_course <= off_m
                    and not athlete.missed
                    and now >= start
                ):
                    continue
            mine = frozenset(kinds_of.get(athlete.id, ()))
            found = conditions(
                athlete, now=now, start=start, thresholds=thresholds, open_kinds=mine
            )
            for kind, detail in found.items():
                key = (athlete.id, kind)
                seen.add(key)
                if key not in self.open:
                    alert = Alert(kind, athlete.id, now, detail)
                    self.open[key] = alert
                    opened.append(alert)
                    self.details[key] = detail
                elif self.details.get(key) != detail:
                    self.details[key] = detail
                    self.detail_changed = True
        closed = [alert for key, alert in self.open.items() if key not in seen]
        for alert in closed:
            key = (alert.athlete, alert.kind)
            del self.open[key]
            self.details.pop(key, None)
        return Changes(opened, closed)

    def listing(self, athletes: dict[int, Athlete]) -> list[dict[str, object]]:
        """Every open incident with the athlete's last position, oldest first."""
        out: list[dict[str, object]] = []
        for (athlete_id, kind), alert in sorted(self.open.items(), key=lambda i: i[1].since):
            a = athletes.get(athlete_id)
            if a is None:
                continue
            out.append(
                {
                    "kind": kind,
                    "athlete": athlete_id,
                    "bib": a.bib,
                    "name": a.name,
                    "since": round(alert.since, 1),
                    "detail": self.details.get((athlete_id, kind), alert.detail),
                    "t": a.t,
                    "lat": None if a.lat is None else round(a.lat, 6),
                    "lon": None if a.lon is None else round(a.lon, 6),
                    "distance": round(a.distance),
                }
            )
        return out


def alerts_cache_key(race_id: int) -> str:
    """Where the ticker keeps a race's open alerts for race control's new screens."""
    return f"tracking:control:alerts:{race_id}"


def refresh_cache_key(race_id: int) -> str:
    """Set when race control changes a race (a DNF, its safety settings): its ticker reads
    the roster, DNFs and thresholds again at its next tick."""
    return f"tracking:control:refresh:{race_id}"
