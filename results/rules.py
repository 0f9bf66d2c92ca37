"""What computing a race's results needs to know about the race, read once per computation.

``RaceSetup`` is plain data (no ORM): the full recompute and the live path both build
one and hand it to the same pure functions, so both apply exactly the same rules.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.utils import timezone

from events.models import Race
from events.registration import age_on, race_day
from results.models import ResultsPublication, TimingPoint, TimingRules, Wave

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MS = dt.timedelta(milliseconds=1)

Kind = TimingPoint.Kind


def to_ms(at: dt.datetime) -> int:
    """Milliseconds since the epoch, exactly (no float rounding of a 13-digit number)."""
    return (at - EPOCH) // MS


def from_ms(ms: int) -> dt.datetime:
    return EPOCH + dt.timedelta(milliseconds=ms)


@dataclass(frozen=True, slots=True)
class Point:
    id: int
    name: str
    kind: str
    distance_m: float
    min_gap_ms: int
    order: int

    @property
    def repeats(self) -> bool:
        """Crossed more than once by one athlete (every lap)."""
        return self.kind == Kind.LAP


@dataclass(frozen=True, slots=True)
class CategoryRule:
    id: int
    sex: str
    min_age: int
    max_age: int | None


@dataclass(slots=True)
class RaceSetup:
    race_id: int
    gun_ms: int
    points: dict[int, Point]
    rank_by: str = TimingRules.RankBy.CHIP
    cutoff_ms: int | None = None
    max_speed_mps: float | None = None
    laps: int = 1
    categories: list[CategoryRule] = field(default_factory=list)
    race_day: dt.date | None = None
    official: bool = False
    closed: bool = False  # no one is still out there: no read means DNS, no finish DNF
    wave_starts: dict[int, int] = field(default_factory=dict)  # wave id -> start (ms)

    @property
    def start_point(self) -> int | None:
        return next((p.id for p in self.points.values() if p.kind == Kind.START), None)

    @property
    def finish_point(self) -> int | None:
        return next((p.id for p in self.points.values() if p.kind == Kind.FINISH), None)

    def start_of(self, wave_id: int | None) -> int:
        """An athlete's gun: their wave's start, else the race's."""
        return self.wave_starts.get(wave_id, self.gun_ms) if wave_id else self.gun_ms

    def category_of(self, birth_date: dt.date, sex: str, stored: int | None) -> int | None:
        """The category by age on race day and sex, as ``events.registration.category_for``
        picks it at entry; an entry no age rule fits keeps the category it was given."""
        if self.race_day is None:
            return stored
        age = age_on(birth_date, self.race_day)
        for rule in self.categories:
            if rule.sex not in ("", sex):
                continue
            if rule.min_age <= age and (rule.max_age is None or age <= rule.max_age):
                return rule.id
        return stored


def _one_to_one(race: Race, name: str) -> object | None:
    try:
        return getattr(race, name)
    except (TimingRules.DoesNotExist, ResultsPublication.DoesNotExist):
        return None


def load_setup(*, race_id: int, now: dt.datetime | None = None) -> RaceSetup:
    """Read a race's clock, rules, points, waves and categories (four queries)."""
    race = Race.objects.select_related("event", "timing_rules", "results_publication").get(
        pk=race_id
    )
    rules = _one_to_one(race, "timing_rules")
    publication = _one_to_one(race, "results_publication")
    points = {
        p.id: Point(p.id, p.name, p.kind, p.distance_m, p.min_gap_ms, p.order)
        for p in TimingPoint.objects.filter(race_id=race_id)
    }
    waves = dict(Wave.objects.filter(race_id=race_id).values_list("id", "start_time"))
    categories = sorted(
        (CategoryRule(c.id, c.sex, c.min_age or 0, c.max_age) for c in race.categories.all()),
        key=lambda c: (c.sex == "", -c.min_age),  # as category_for: sexed first, oldest first
    )
    setup = RaceSetup(
        race_id=race_id,
        gun_ms=to_ms(race.start_time),
        points=points,
        categories=categories,
        race_day=race_day(race),
        wave_starts={wave: to_ms(start) for wave, start in waves.items()},
    )
    if isinstance(rules, TimingRules):
        setup.rank_by, setup.max_speed_mps, setup.laps = (
            rules.rank_by,
            rules.max_speed_mps,
            rules.laps,
        )
        setup.cutoff_ms = rules.cutoff_ms
    if setup.cutoff_ms is None and race.time_limit is not None:
        setup.cutoff_ms = race.time_limit // MS
    setup.official = (
        isinstance(publication, ResultsPublication)
        and publication.state == ResultsPublication.State.OFFICIAL
    )
    setup.closed = setup.official or _past_cutoff(setup, now or timezone.now())
    return setup


def _past_cutoff(setup: RaceSetup, now: dt.datetime) -> bool:
    if setup.cutoff_ms is None:
        return False
    last_start = max([setup.gun_ms, *setup.wave_starts.values()])
    return to_ms(now) >= last_start + setup.cutoff_ms
