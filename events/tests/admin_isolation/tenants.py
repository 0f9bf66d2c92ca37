"""The two organizers of the admin isolation matrix and the personas who work for them.

alice (owner) and bob (staff) work for Alpha, charlie owns Bravo: each must see,
pick and change only their own organizer's objects, even when guessing ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import reverse

from events.models import Course, Event, Membership, Organizer, Race, RaceCategory, SplitPoint
from events.tests.factories import make_event


@dataclass
class Tenant:
    """One organizer's objects, named so that each name says whose it is."""

    organizer: Organizer
    event: Event
    draft: Event
    race: Race
    category: RaceCategory

    @property
    def course(self) -> Any:
        return self.race.course

    @property
    def split(self) -> SplitPoint:
        return self.course.split_points.first()

    @property
    def membership(self) -> Membership:
        return self.organizer.memberships.earliest("pk")

    def obj(self, model: str) -> Organizer | Event | Race | Course:
        return {
            "organizer": self.organizer,
            "event": self.event,
            "race": self.race,
            "course": self.course,
        }[model]


def make_tenant(event: Event) -> Tenant:
    race = event.races.get()
    category = RaceCategory.objects.create(
        race=race, code="SEN", name=f"{event.organizer.name} Seniors"
    )
    draft = make_event(event.organizer, f"{event.organizer.name} Draft", status=Event.Status.DRAFT)
    return Tenant(event.organizer, event, draft, race, category)


# (user, their organizer, the other organizer)
SEATS = [("alice", "alpha", "bravo"), ("bob", "alpha", "bravo"), ("charlie", "bravo", "alpha")]
MODELS = ["organizer", "event", "race", "course"]


def row_label(tenant: Tenant, model: str) -> str:
    """The text a changelist row shows for the tenant's object of ``model``."""
    return str(tenant.race.name if model == "race" else tenant.obj(model).name)


def admin_url(model: str, view: str, *args: Any) -> str:
    return reverse(f"admin:events_{model}_{view}", args=args)
