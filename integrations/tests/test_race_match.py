"""An athlete's Strava activity of a race: found by day and distance, shown to them only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from events.models import Registration
from events.tests.factories import make_event, make_organizer, make_race, make_user
from integrations.models import Activity, ActivitySource
from integrations.race_match import race_activity

pytestmark = pytest.mark.django_db


def entry(race: Any, user: Any) -> Registration:
    return Registration.objects.create(
        race=race, event=race.event, user=user, status=Registration.Status.CONFIRMED,
        email=user.email, first_name="Ann", last_name="Runner", birth_date="1990-06-15",
        sex="F", nationality="FR", emergency_name="Someone", emergency_phone="+33 1 23 45 67 89",
        bib="12", price=0, currency="EUR", waiver_accepted_at=timezone.now(), manage_token="m-12",
    )  # fmt: skip


def activity(user: Any, race: Any, *, minutes: int, km: float, strava_id: str) -> Activity:
    start = race.start_time + timedelta(minutes=minutes)
    return Activity.objects.create(
        user=user, source=ActivitySource.STRAVA, external_id=strava_id, sport="Run",
        name=f"{km} km", start=start, end=start + timedelta(hours=1), elapsed_time=3600,
        moving_time=3500, distance=km * 1000,
    )  # fmt: skip


def test_it_picks_the_activity_of_the_race_not_the_warm_up(client: Any) -> None:
    ann, bob = make_user("ann"), make_user("bob")
    race = make_race(make_event(make_organizer("Alpha"), "City Run", days_ahead=-1))
    mine = entry(race, ann)
    activity(ann, race, minutes=-40, km=2.5, strava_id="1")  # the warm-up
    the_race = activity(ann, race, minutes=2, km=10.1, strava_id="2")
    activity(ann, race, minutes=60 * 24, km=10.0, strava_id="3")  # the next day
    assert race_activity(registration=mine) == the_race

    url = f"/integrations/strava/race-activity/{mine.pk}/"
    client.force_login(ann)
    assert client.get(url).json()["activity"]["name"] == "10.1 km"
    client.force_login(bob)  # Strava's terms: the athlete's data to the athlete only
    assert client.get(url).json() == {"activity": None}
    client.logout()
    assert client.get(url).status_code == 403
