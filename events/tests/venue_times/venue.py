"""Building venue-time tests: an event at a venue's zone, the race add page's POST, an
entry taken without the form."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.test import Client

from events.models import Event, Race, Registration
from events.registration import registration_create
from events.tests.factories import make_event

UTC = dt.UTC
# "Now" for every test: before all the races below, in summer time in Europe.
NOW = dt.datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
ADMIN_RACE_ADD = "/admin/events/race/add/"


def venue_event(alpha: Any, zone: str, day: dt.date, name: str = "Venue Run") -> Event:
    event = make_event(alpha, name, zone=zone)
    Event.objects.filter(pk=event.pk).update(start_date=day, end_date=day)
    event.refresh_from_db()
    return event


def race_form(event: Event, day: str, time: str, **over: Any) -> dict[str, Any]:
    """The race add page's POST, as the browser sends it (date and time apart)."""
    data = {
        "event": event.pk, "name": "10K", "slug": "10k", "distance_m": "10000",
        "start_time_0": day, "start_time_1": time, "entry_fee": "20", "team_size": "1", **over,
    }  # fmt: skip
    for prefix in ("categories", "price_tiers", "questions"):
        data |= {f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"}
    return data


def add_race(client: Client, event: Event, day: str, time: str) -> Race:
    response = client.post(ADMIN_RACE_ADD, race_form(event, day, time))
    assert response.status_code == 302, response.context["errors"] if response.context else ""
    return Race.objects.get(event=event, slug="10k")


def enter(race: Race, **over: Any) -> Registration:
    user = over.pop("user", None)
    entry = {
        "email": "rita@example.com", "first_name": "Rita", "last_name": "Runner",
        "birth_date": dt.date(1985, 3, 4), "sex": "F", "nationality": "FR", "club": "",
        "emergency_name": "Paul", "emergency_phone": "+33 6 00 00 00 00", **over,
    }  # fmt: skip
    return registration_create(race=race, user=user, entry=entry, answers={})
