"""Small builders for results' tests: entries, points and reads at given race seconds."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from django.utils import timezone

from events.models import Race, Registration
from results.models import TimingPoint, TimingRead

_serial = itertools.count(1)


def make_entry(
    race: Race,
    *,
    bib: str | None = None,
    sex: str = "F",
    birth_date: dt.date = dt.date(1990, 6, 15),
    status: str = Registration.Status.CONFIRMED,
    **fields: Any,
) -> Registration:
    """A confirmed entry of ``race`` (the bib numbered in creation order unless given)."""
    n = next(_serial)
    return Registration.objects.create(
        race=race, event=race.event, status=status, email=f"runner{n}@example.com",
        first_name=fields.pop("first_name", "Runner"), last_name=fields.pop("last_name", str(n)),
        birth_date=birth_date, sex=sex, nationality="FR", emergency_name="Someone",
        emergency_phone="+33 1 23 45 67 89", bib=bib if bib is not None else str(n), price=0,
        currency="EUR", waiver_accepted_at=timezone.now(), manage_token=f"manage-{n}-{race.pk}",
        **fields,
    )  # fmt: skip


def make_points(
    race: Race, *, splits: tuple[float, ...] = (5000.0,), finish_m: float = 10_000.0, **kw: Any
) -> dict[str, TimingPoint]:
    """Start, a split at each distance of ``splits`` ("5 km"), and the finish, by name."""
    specs = [("Start", TimingPoint.Kind.START, 0.0)]
    specs += [(f"{d / 1000:g} km", TimingPoint.Kind.SPLIT, d) for d in splits]
    specs.append(("Finish", TimingPoint.Kind.FINISH, finish_m))
    points = {}
    for order, (name, kind, distance) in enumerate(specs):
        points[name] = TimingPoint.objects.create(
            race=race, name=name, kind=kind, distance_m=distance, order=order, **kw
        )
    return points


def at(race: Race, seconds: float) -> dt.datetime:
    """The instant ``seconds`` after the race's gun."""
    return race.start_time + dt.timedelta(seconds=seconds)


def make_read(
    point: TimingPoint,
    entry: Registration | None,
    seconds: float,
    *,
    source: str = TimingRead.Source.CHIP_FILE,
    **fields: Any,
) -> TimingRead:
    """A stored read of ``entry`` at ``point``, ``seconds`` after the gun."""
    race = point.race
    return TimingRead.objects.create(
        race=race,
        point=point,
        registration=entry,
        bib=entry.bib if entry else fields.pop("bib", ""),
        time=at(race, seconds),
        source=source,
        **fields,
    )
