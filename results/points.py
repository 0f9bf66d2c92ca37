"""A race's timing points: by default one per split point of its course, plus start and finish."""

from __future__ import annotations

from django.db import transaction

from events.models import Race
from results.models import TimingPoint
from results.setup_versions import bump_setup

Kind = TimingPoint.Kind


def default_timing_points(*, race: Race) -> list[TimingPoint]:
    """The points a race gets unless its organizer sets others (not saved).

    Every split point of the course becomes a split; the one at 0 m is the start and
    the one at the course's end the finish. A course without them, or a race without a
    course, still gets a start and a finish: reads need somewhere to land.
    """
    length = float(race.course.distance_m if race.course else race.distance_m or 0)
    # The finish is at the race's official distance, not the course's measured length: a
    # GPX of a 10K often measures 10.4 km, and a finish split there told a 10K's athletes
    # "Finish 10.4 km" and segment paces faster than the headline pace (over 10 km).
    official = float(race.distance_m or length)
    splits = list(race.course.split_points.all()) if race.course else []
    points: list[TimingPoint] = []
    for split in splits:
        kind, distance = Kind.SPLIT, split.distance_m
        if split.distance_m <= 0:
            kind = Kind.START
        elif length and split.distance_m >= length:
            kind, distance = Kind.FINISH, official
        points.append(TimingPoint(race=race, name=split.name, kind=kind, distance_m=distance))
    names = {p.name for p in points}
    if not any(p.kind == Kind.START for p in points):
        name = "Start" if "Start" not in names else "Start line"
        points.insert(0, TimingPoint(race=race, name=name, kind=Kind.START, distance_m=0.0))
    if not any(p.kind == Kind.FINISH for p in points):
        name = "Finish" if "Finish" not in names else "Finish line"
        points.append(TimingPoint(race=race, name=name, kind=Kind.FINISH, distance_m=official))
    for order, point in enumerate(points):
        point.order = order
    return points


@transaction.atomic
def ensure_timing_points(*, race: Race) -> list[TimingPoint]:
    """The race's timing points, made from its course the first time they are asked for."""
    existing = list(TimingPoint.objects.filter(race=race).order_by("order", "distance_m"))
    if existing:
        return existing
    # Two first askers at once: one set is stored, both read it back.
    TimingPoint.objects.bulk_create(default_timing_points(race=race), ignore_conflicts=True)
    bump_setup(race_ids=[race.pk])
    return list(TimingPoint.objects.filter(race=race).order_by("order", "distance_m"))
