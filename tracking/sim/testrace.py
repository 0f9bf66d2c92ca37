"""Test races for load and conformance tools (PROTOCOL.md §4).

Bulk-created: 10,000 athletes take seconds. Test events are marked ``is_test``
(never listed) under the organizer "Load test".
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from events.demo import annecy_loop_race
from events.models import Course, Event, Organizer, Race, Registration
from tracking.models import Tracker
from tracking.retention import tracking_data_delete

ORGANIZER_SLUG = "load-test"


def _race() -> Race:
    organizer, _ = Organizer.objects.get_or_create(
        slug=ORGANIZER_SLUG,
        defaults={"name": "Load test", "country": "FR", "contact_email": "load-test@pace.local"},
    )
    event = Event.objects.filter(organizer=organizer, is_test=True).order_by("-pk").first()
    if event is not None:
        return event.races.get()
    return annecy_loop_race(
        organizer=organizer, name="Load test 10K", slug=f"load-test-{secrets.token_hex(3)}",
        start=timezone.now(), seed=7, time_limit=dt.timedelta(hours=6), is_test=True,
    )  # fmt: skip


@transaction.atomic
def load_test_race_create(*, athletes: int) -> dict[str, Any]:
    """Create (or extend to ``athletes``) the test race; the JSON the command prints."""
    race = _race()
    have = Registration.objects.filter(race=race).count()
    entries = []
    for n in range(have + 1, athletes + 1):
        entries.append(
            Registration(
                race=race,
                event=race.event,
                status=Registration.Status.CONFIRMED,
                email=f"athlete{n}@load-test.pace.local",
                first_name="Athlete",
                last_name=str(n),
                birth_date=dt.date(1990, 1, 1),
                sex="X",
                nationality="FR",
                emergency_name="-",
                emergency_phone="-",
                bib=str(n),
                price=0,
                currency="EUR",
                waiver_accepted_at=timezone.now(),
                manage_token=secrets.token_urlsafe(24),
            )
        )
    Registration.objects.bulk_create(entries, batch_size=2000)
    new = Registration.objects.filter(race=race, tracker__isnull=True)
    Tracker.objects.bulk_create(
        [Tracker(registration=r) for r in new],  # each with a token and a device id issued
        batch_size=2000,
    )
    trackers = Tracker.objects.filter(registration__race=race).select_related("registration")
    return {
        "race_id": race.pk,
        "event_slug": race.event.slug,
        "race_slug": race.slug,
        "course_url": reverse("events:course", args=[race.course_id]),
        "athletes": [
            {
                "id": t.registration_id,
                "bib": t.registration.bib,
                "token": t.token,
                "device_id": t.device_id,
            }
            for t in trackers.order_by("registration_id")
        ],
    }


@transaction.atomic
def load_test_races_delete() -> int:
    """Remove every test race and all its data; returns how many events went."""
    events = list(Event.objects.filter(is_test=True))
    races = Race.objects.filter(event__in=events)
    tracking_data_delete(races=races)
    Registration.objects.filter(race__in=races).delete()
    courses = {r.course_id for r in races if r.course_id}
    races.delete()
    for event in events:
        event.delete()
    Course.objects.filter(pk__in=courses).delete()
    Organizer.objects.filter(slug=ORGANIZER_SLUG, events__isnull=True).delete()
    return len(events)
