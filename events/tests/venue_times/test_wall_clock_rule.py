"""The venue-time rule over any time in zones ahead of, behind and at UTC: a typed wall
clock comes back as typed, or is refused as one the clocks skip."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django import forms
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.localtime import (
    NonexistentLocalTimeError,
    venue_datetime,
    venue_local,
)
from events.models import Event, Race
from events.tests.venue_times.venue import (
    ADMIN_RACE_ADD,
    UTC,
    race_form,
    venue_event,
)

pytestmark = pytest.mark.django_db


# --- The rule itself, over any time in zones ahead of, behind and at UTC -------------------

ZONES = ["Europe/Paris", "America/New_York", "America/Denver", "Australia/Sydney", "UTC"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    zone=st.sampled_from(ZONES),
    typed=st.datetimes(min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2028, 12, 31)),
)
def test_it_gives_back_the_typed_wall_clock_or_says_it_does_not_exist(zone, typed):
    tz = zoneinfo.ZoneInfo(zone)
    try:
        stored, ambiguous = venue_datetime(typed, zone=tz)
    except NonexistentLocalTimeError:
        # Only in a gap: the wall clock jumps over it.
        assert typed.replace(tzinfo=tz).astimezone(UTC).astimezone(tz).replace(tzinfo=None) != typed
        return
    assert stored.tzinfo == UTC
    assert venue_local(stored, zone=tz) == typed
    if ambiguous:  # the first of the two: the earlier instant
        later = typed.replace(tzinfo=tz, fold=1).astimezone(UTC)
        assert stored < later


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    zone=st.sampled_from(ZONES),
    day=st.dates(min_value=dt.date(2026, 1, 1), max_value=dt.date(2027, 12, 31)),
    clock=st.one_of(
        st.times().map(lambda t: t.strftime("%H:%M")),
        st.sampled_from(["02:30", "01:30", "24:00", "7h30", "", "\x00", "99:99"]),
        st.text(max_size=8),
        st.from_regex(r"\A[0-9]{1,2}:[0-9]{1,2}\Z"),
    ),
)
def test_it_stores_any_typed_start_at_the_venue_or_says_why_not(as_alice, alpha, zone, day, clock):
    Event.objects.filter(slug="any-run").delete()
    event = venue_event(alpha, zone, day, name="Any Run")
    response = as_alice.post(ADMIN_RACE_ADD, race_form(event, day.isoformat(), clock))
    if response.status_code == 200:
        assert response.context["adminform"].form.errors["start_time"]
        assert not Race.objects.filter(event=event).exists()
        return
    assert response.status_code == 302
    stored = Race.objects.get(event=event).start_time
    typed = dt.datetime.combine(day, forms.TimeField().clean(clock))
    assert venue_local(stored, zone=zoneinfo.ZoneInfo(zone)) == typed
