"""iCalendar files so athletes can put an event in their calendar."""

from __future__ import annotations

import datetime as dt
from typing import cast

import icalendar
from django.conf import settings
from django_countries.fields import Country

from events.models import Event


def event_ics(event: Event) -> bytes:
    """One all-day VEVENT (plus one timed VEVENT per race start, at the venue) for an event."""
    cal = icalendar.Calendar()
    cal.add("prodid", "-//Pace//Events//EN")
    cal.add("version", "2.0")
    url = f"{settings.SITE_URL}{event.get_absolute_url()}"
    day = icalendar.Event()
    day.add("uid", f"event-{event.pk}@pace")
    day.add("summary", event.name)
    day.add("dtstart", event.start_date)
    day.add("dtend", event.end_date + dt.timedelta(days=1))
    country = cast(Country, event.country)  # CountryField gives a Country; the stubs say str
    day.add("location", ", ".join(p for p in [event.place, event.region, country.name] if p))
    day.add("geo", (event.latitude, event.longitude))
    day.add("url", url)
    day.add("description", event.summary or event.name)
    day.add("status", "CANCELLED" if event.status == Event.Status.CANCELLED else "CONFIRMED")
    day.add("dtstamp", event.updated_at)
    cal.add_component(day)
    for race in event.races.all():
        start = icalendar.Event()
        start.add("uid", f"race-{race.pk}@pace")
        start.add("summary", f"{event.name}: {race.name} start")
        # With the venue's TZID (and its VTIMEZONE below): calendars show the venue's clock.
        begins = race.start_time.astimezone(event.local_tz)
        start.add("dtstart", begins)
        start.add("dtend", begins + (race.time_limit or dt.timedelta(hours=1)))
        start.add("url", url)
        start.add("dtstamp", event.updated_at)
        cal.add_component(start)
    cal.add_missing_timezones()
    return cal.to_ical()
