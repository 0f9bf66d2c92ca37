"""What computing a race's results needs to know about the race, read once per computation.

``RaceSetup`` is plain data (no ORM): the full recompute and the live path both build
one and hand it to the same pure functions, so both apply exactly the same rules.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import BigIntegerField, Func, QuerySet
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
    start_point: int | None = field(init=False, default=None)
    finish_point: int | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        kinds = {p.kind: p.id for p in sorted(self.points.values(), key=lambda p: -p.order)}
        self.start_point, self.finish_point = kinds.get(Kind.START), kinds.get(Kind.FINISH)

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
        found: object = getattr(race, name)
        return found
    except (TimingRules.DoesNotExist, ResultsPublication.DoesNotExist):
        return None


def load_setup(*, race_id: int, now: dt.datetime | None = None) -> RaceSetup:
    """Read a race's clock, rules, points, waves, categories and publication (four queries)."""
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


# --- a process's copies of races' setups, for the live path ----------------------------

SETUP_SECONDS = 10.0  # a copy is trusted this long even without a version bump
_setups: dict[int, tuple[int, float, RaceSetup]] = {}


def setup_of(publication: ResultsPublication, *, now: dt.datetime | None = None) -> RaceSetup:
    """The race's setup, read again only when its ``setup_version`` moved on (or the copy
    is older than ``SETUP_SECONDS``, in case a change slipped past the version bumps):
    a live read saves four queries."""
    race_id = publication.race_id
    held = _setups.get(race_id)
    fresh = time.monotonic()
    if held is None or held[0] != publication.setup_version or fresh - held[1] > SETUP_SECONDS:
        held = (publication.setup_version, fresh, load_setup(race_id=race_id, now=now))
        _setups[race_id] = held
    official = publication.state == ResultsPublication.State.OFFICIAL
    setup = dataclasses.replace(held[2], official=official)
    setup.closed = official or _past_cutoff(setup, now or timezone.now())
    return setup


def forget_setups() -> None:
    _setups.clear()


# --- read times as integers ------------------------------------------------------------


class EpochMs(Func):
    """A date-time column as whole milliseconds since the epoch, floored as ``to_ms``."""

    output_field = BigIntegerField()

    def get_db_converters(self, connection: Any) -> list[Any]:
        return []  # the driver hands back ints; an int() per read is 10 % of a recompute

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = "floor(extract(epoch from %(expressions)s) * 1000)::bigint"
        return self.as_sql(compiler, connection, template=template, **extra)


def read_rows(reads: QuerySet[Any], *lead: str) -> list[tuple[Any, ...]]:
    """``(*lead, time_ms, point_id, source, id)`` of each read.

    On PostgreSQL the database does the arithmetic: turning 120,000 timestamps into
    Python date-times and back was half of a race's recompute."""
    tail = ("point_id", "source", "id")
    if connection.vendor == "postgresql":
        query = reads.annotate(ms=EpochMs("time")).values_list(*lead, "ms", *tail)
        sql, params = query.query.sql_with_params()
        with connection.cursor() as cursor:  # one fetch, not Django's 100 rows a trip
            cursor.execute(sql, params)
            rows: list[tuple[Any, ...]] = cursor.fetchall()
            return rows
    n = len(lead)
    return [
        (*row[:n], to_ms(row[n]), *row[n + 1 :]) for row in reads.values_list(*lead, "time", *tail)
    ]
