from __future__ import annotations

import pytest
from django.core.management import call_command

from events.demo.live import LIVE_EVENT_SLUG
from events.models import Course, Event, Organizer, Race


@pytest.mark.django_db
def test_it_seeds_demo_data_once(capsys):
    call_command("seed_demo")
    out = capsys.readouterr().out
    assert "alice@pace.local" in out and "admin@pace.local" in out
    counts = (Organizer.objects.count(), Event.objects.count(), Race.objects.count())
    assert counts[0] >= 3
    assert counts[1] >= 30
    assert set(Event.objects.values_list("sport", flat=True)) >= {"running", "trail", "cycling"}
    assert Event.objects.values("country").distinct().count() >= 5
    assert not Race.objects.filter(course__isnull=True).exists()
    assert Course.objects.filter(split_points__name="Finish").count() == Course.objects.count()
    # Start times are the venue's clock (08:30, 09:30...), whatever the server's zone.
    for race in Race.objects.select_related("event").exclude(event__slug=LIVE_EVENT_SLUG):
        local = race.start_time.astimezone(race.event.local_tz)
        assert (local.minute, local.date()) == (30, race.event.start_date), race
        assert 8 <= local.hour <= 12, race
    call_command("seed_demo")
    assert (Organizer.objects.count(), Event.objects.count(), Race.objects.count()) == counts
