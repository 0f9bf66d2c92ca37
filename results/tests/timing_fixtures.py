"""A timed race of Alpha for the timing-input tests: points, two entries, files of its day."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from events.models import Race, Registration
from events.tests.factories import make_event, make_race
from results.models import TimingPoint
from results.tests.factories import make_entry, make_points


@dataclass
class Timed:
    race: Race
    points: dict[str, TimingPoint]
    anna: Registration  # bib 101
    ben: Registration  # bib 102

    @property
    def day(self) -> str:
        """The race day as files write it (the event is in UTC: 09:00 is 09:00 UTC)."""
        return f"{self.race.start_time:%Y-%m-%d}"

    def url(self, what: str, *args: Any) -> str:
        from django.urls import reverse

        return reverse(f"admin:results_racetiming_{what}", args=[self.race.pk, *args])


def make_timed(organizer: Any, name: str = "Alpha 10K") -> Timed:
    race = make_race(make_event(organizer, name), "10K")
    return Timed(
        race=race,
        points=make_points(race),
        anna=make_entry(race, bib="101", first_name="Anna", last_name="Alder"),
        ben=make_entry(race, bib="102", first_name="Ben", last_name="Birch"),
    )
