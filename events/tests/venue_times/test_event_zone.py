"""An event's own zone: asked for where a country has several, never UTC by default, and
races typed with the event (or before its zone is corrected) read in it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse

from events.localtime import (
    country_default_zone,
)
from events.models import Event
from events.tests.venue_times.venue import (
    UTC,
    add_race,
    venue_event,
)
from pace.lib.testing import admin_form_data

pytestmark = pytest.mark.django_db


# --- The event's own page: its zone, and races typed with it ------------------------------


def event_form(alpha: Any, **over: Any) -> dict[str, Any]:
    return {
        "organizer": alpha.pk, "name": "Lakes Run", "slug": "lakes-run", "sport": "running",
        "status": "draft", "start_date": "2026-09-20", "end_date": "2026-09-20",
        "timezone": "", "place": "Lyon", "country": "FR", "latitude": "45.7",
        "longitude": "4.8", "currency": "EUR", "payment_method": "on_site",
        "registration_open": "on", "races-TOTAL_FORMS": "1", "races-INITIAL_FORMS": "0",
        "races-0-name": "10K", "races-0-slug": "10k", "races-0-distance_m": "10000",
        "races-0-start_time_0": "2026-09-20", "races-0-start_time_1": "07:30",
        "races-0-entry_fee": "10", **over,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("over", "zone", "stored"),
    [
        ({}, "Europe/Paris", dt.datetime(2026, 9, 20, 5, 30, tzinfo=UTC)),  # from the country
        ({"timezone": "America/New_York", "country": "US"}, "America/New_York",
         dt.datetime(2026, 9, 20, 11, 30, tzinfo=UTC)),
    ],
)  # fmt: skip
def test_it_reads_races_added_with_a_new_event_in_its_zone(as_alice, alpha, over, zone, stored):
    response = as_alice.post("/admin/events/event/add/", event_form(alpha, **over))
    assert response.status_code == 302, response.context["errors"]
    event = Event.objects.get(slug="lakes-run")
    assert event.timezone == zone
    assert event.races.get().start_time == stored


def test_it_asks_for_the_zone_of_a_country_with_several(as_alice, alpha):
    response = as_alice.post("/admin/events/event/add/", event_form(alpha, country="US"))
    assert response.status_code == 200
    (error,) = response.context["adminform"].form.errors["timezone"]
    assert error.startswith("This country has several time zones (America/New_York,")
    assert not Event.objects.filter(slug="lakes-run").exists()


def test_it_offers_no_utc_default_for_a_new_event(as_alice):
    form = as_alice.get("/admin/events/event/add/").context["adminform"].form
    assert form["timezone"].value() == ""
    assert country_default_zone("FR") == "Europe/Paris"
    assert country_default_zone("DE") == "Europe/Berlin"  # Busingen keeps Berlin's clock
    assert country_default_zone("ES") is None  # the Canary Islands are an hour behind


def test_it_reads_the_races_on_the_event_page_in_a_zone_changed_in_the_same_post(as_alice, alpha):
    event = venue_event(alpha, "UTC", dt.date(2026, 9, 20), name="Lakes Run")
    page = as_alice.get(reverse("admin:events_event_change", args=[event.pk]))
    assert page.context["adminform"].form["timezone"].value() == "UTC"
    data = event_form(alpha, timezone="America/Denver")
    response = as_alice.post(reverse("admin:events_event_change", args=[event.pk]), data)
    assert response.status_code == 302, response.context["errors"]
    assert event.races.get().start_time == dt.datetime(2026, 9, 20, 13, 30, tzinfo=UTC)


def test_it_keeps_the_typed_clock_when_the_events_zone_is_corrected(as_alice, alpha):
    """An event left on UTC with its start typed 07:30: set to Paris, it still starts 07:30."""
    event = venue_event(alpha, "UTC", dt.date(2026, 9, 20))
    race = add_race(as_alice, event, "2026-09-20", "07:30")
    tier = race.price_tiers.create(
        name="Early", price=10, until=dt.datetime(2026, 9, 1, 23, 59, tzinfo=UTC)
    )
    code = event.discount_codes.create(
        code="X", amount=5, valid_until=dt.datetime(2026, 9, 10, 12, 0, tzinfo=UTC)
    )
    url = reverse("admin:events_event_change", args=[event.pk])
    data = admin_form_data(as_alice.get(url)) | {"timezone": "Europe/Paris"}
    response = as_alice.post(url, data, follow=True)
    assert response.redirect_chain, response.context["errors"]
    assert "3 time(s) of this event kept their clock in Europe/Paris." in [
        str(m) for m in response.context["messages"]
    ]
    race.refresh_from_db()
    tier.refresh_from_db()
    code.refresh_from_db()
    assert race.start_time == dt.datetime(2026, 9, 20, 5, 30, tzinfo=UTC)  # 07:30 CEST
    assert tier.until == dt.datetime(2026, 9, 1, 21, 59, tzinfo=UTC)
    assert code.valid_until == dt.datetime(2026, 9, 10, 10, 0, tzinfo=UTC)
