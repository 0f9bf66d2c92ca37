from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from events.demo import LIVE_EVENT_SLUG, demo_seed, live_demo_race
from events.models import Course, Event, Organizer, Race, Registration


def _counts() -> tuple[int, ...]:
    models = (Organizer, Event, Race, Course, Registration)
    return tuple(model.objects.count() for model in models)


@pytest.mark.django_db
def test_it_seeds_the_core_demo_once_and_restarts_an_old_live_race() -> None:
    core = demo_seed()
    assert ("alice@pace.local", "owner of Northern Lights Running") in core.logins
    assert ("admin@pace.local", "platform staff") in core.logins
    counts = _counts()
    assert counts[0] >= 3
    assert counts[1] >= 30
    assert set(Event.objects.values_list("sport", flat=True)) >= {"running", "trail", "cycling"}
    assert Event.objects.values("country").distinct().count() >= 5
    assert not Race.objects.filter(course__isnull=True).exists()
    assert Course.objects.filter(split_points__name="Finish").count() == Course.objects.count()
    # Every entry it made is reported, for payments' part of the demo to pay for.
    assert {r.pk for r in core.entries} == set(Registration.objects.values_list("pk", flat=True))
    assert core.live_race == live_demo_race()
    assert core.restarted == []
    # Start times are the venue's clock (08:30, 09:30...), whatever the server's zone.
    for race in Race.objects.select_related("event").exclude(event__slug=LIVE_EVENT_SLUG):
        local = race.start_time.astimezone(race.event.local_tz)
        assert (local.minute, local.date()) == (30, race.event.start_date), race
        assert 8 <= local.hour <= 12, race

    # Run again an hour later: nothing new, and the live race starts over with its athletes.
    live = core.live_race
    Race.objects.filter(pk=live.pk).update(start_time=live.start_time - dt.timedelta(hours=1))
    again = demo_seed()
    assert _counts() == counts
    assert (again.created_events, again.entries) == (0, [])
    assert again.restarted == [live]
    live.refresh_from_db()
    assert timezone.now() - live.start_time < dt.timedelta(minutes=1)
    assert Event.objects.get(pk=live.event_id).start_date == live.start_time.date()
