"""An entry passed to someone else: the previous holder's tracking stops tracking it.

A transfer gave the entry a new manage link but kept its tracker: the old holder's
token still opened the tracker page of the new holder's entry and still sent fixes
as them, and their phone's device id still reached ``/osmand/`` as the new holder.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from events.entry_changes import registration_transfer
from events.tests.factories import ENTRY_FORM, make_course, make_event, make_race
from tracking.ingest.athletes import athlete_for_device, athlete_for_token
from tracking.ingest.trackers import tracker_for
from tracking.tests.test_pages import register

pytestmark = pytest.mark.django_db


@pytest.fixture
def race(alpha):
    event = make_event(alpha, "Lake Run", days_ahead=0)
    event.allow_transfers = True
    event.save()
    race = make_race(event, "10K", course=make_course(alpha))
    race.start_time = timezone.now() + dt.timedelta(hours=2)
    race.save()
    return race


def test_it_gives_the_new_holder_a_tracker_the_old_holders_token_and_device_cannot_use(
    client, race, dave, django_capture_on_commit_callbacks
):
    entry = register(race, dave)
    old = tracker_for(entry)
    old_token, old_device = old.token, old.device_id
    assert old_device is not None
    assert athlete_for_token(old_token) is not None

    new: dict[str, Any] = {
        **ENTRY_FORM,
        "first_name": "Tom",
        "last_name": "New",
        "email": "tom@example.com",
    }
    new["birth_date"] = dt.date(1990, 5, 6)
    with django_capture_on_commit_callbacks(execute=True):
        registration_transfer(registration=entry, entry=new, actor=dave)

    old.refresh_from_db()
    assert (old.token, old.device_id) != (old_token, old_device)
    assert old.token != old_token and old.device_id != old_device
    assert athlete_for_token(old_token) is None
    assert athlete_for_device(old_device) is None
    page = client.get(reverse("tracking:track"), {"token": old_token})
    assert page.status_code == 404
    assert "Tom" not in page.content.decode()
