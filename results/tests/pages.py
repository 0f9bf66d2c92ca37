"""A computed race for the results pages' tests: categories, clubs, splits, every status."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from events.models import Course, Race, RaceCategory, Registration
from events.tests.factories import make_event, make_race
from results.compute import recompute_race
from results.models import TimingPoint
from results.publishing import result_set_status, results_publish
from results.tests.factories import make_entry, make_points, make_read

# (first, last, sex, birth year, club, seconds at 5 km, seconds at the finish or None)
FIELD = [
    ("Anna", "Alder", "F", 1990, "Annecy Running", 1200, 2450),
    ("Ben", "Birch", "M", 1985, "Lyon Tri", 1100, 2300),
    ("Chloé", "Cedar", "F", 1978, "Annecy Running", 1300, 2700),
    ("Dan", "Dogwood", "M", 1970, "", 1150, 2420),
    ("Eve", "Elm", "F", 1995, "Chambéry AC", 1500, None),  # stops after 5 km: DNF
    ("Finn", "Fir", "M", 1992, "Lyon Tri", None, None),  # never seen: DNS
]


@dataclass
class Computed:
    race: Race
    points: dict[str, TimingPoint]
    entries: dict[str, Registration]  # by first name

    def url(self, *parts: str) -> str:
        base = f"/results/{self.race.event.slug}/{self.race.slug}/"
        return base + "".join(f"{part}/" for part in parts)


def make_computed(
    organizer: Any,
    name: str = "Alpha 10K",
    *,
    publish_by: Any = None,
    course: Course | None = None,
    start: dt.datetime | None = None,
    **event: Any,
) -> Computed:
    """A 10 km race with two categories, six entries and their reads, computed; official
    when ``publish_by`` is given. ``start``: the gun, when not 09:00 on the event's day."""
    race = make_race(make_event(organizer, name, **event), "10K", course=course)
    if start is not None:
        race.start_time = start
        race.save(update_fields=["start_time"])
    RaceCategory.objects.create(race=race, code="SEN", name="Senior", min_age=18, max_age=39)
    RaceCategory.objects.create(race=race, code="M40", name="Master 40+", min_age=40)
    points = make_points(race)
    entries: dict[str, Registration] = {}
    for first, last, sex, year, club, split, finish in FIELD:
        entry = make_entry(
            race, first_name=first, last_name=last, sex=sex,
            birth_date=dt.date(year, 3, 1), club=club, bib=str(100 + len(entries) + 1),
        )  # fmt: skip
        entries[first] = entry
        if split is not None:
            make_read(points["Start"], entry, 5)
            make_read(points["5 km"], entry, split + 5)
        if finish is not None:
            make_read(points["Finish"], entry, finish + 5)
    recompute_race(race_id=race.pk)
    if publish_by is not None:
        results_publish(race_id=race.pk, by=publish_by)
    return Computed(race=race, points=points, entries=entries)


def disqualify(computed: Computed, first: str, *, by: Any, reason: str) -> None:
    result_set_status(
        race_id=computed.race.pk, registration_id=computed.entries[first].pk,
        manual_status="dsq", dsq_reason=reason, by=by,
    )  # fmt: skip
