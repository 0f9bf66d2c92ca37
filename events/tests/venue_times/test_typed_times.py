"""Times organizers type are the venue's wall clock, stored in UTC, shown at the venue:
a race's start, price tiers and discount codes, and the days an age or a deadline falls on.

Issue 17: 07:30 typed in the admin for a Paris race showed as 08:30 on the
event page and in the ``.ics``. Zones ahead of and behind UTC, and both
daylight-saving changes, go through the real admin forms.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

import icalendar
import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from events.models import DiscountCode, Event, PriceTier, Race, Registration
from events.registration import category_for
from events.tests.factories import make_race
from events.tests.venue_times.venue import (
    ADMIN_RACE_ADD,
    UTC,
    add_race,
    enter,
    race_form,
    venue_event,
)

pytestmark = pytest.mark.django_db


# --- Typed in the admin, stored in UTC ---------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "day", "stored"),
    [
        ("Europe/Paris", "2026-10-24", "2026-10-24 05:30"),  # summer time, UTC+2
        ("Europe/Paris", "2026-10-25", "2026-10-25 06:30"),  # clocks went back at 03:00
        ("Europe/Paris", "2026-03-28", "2026-03-28 06:30"),  # winter time, UTC+1
        ("Europe/Paris", "2026-03-29", "2026-03-29 05:30"),  # clocks went forward at 02:00
        ("America/New_York", "2026-11-01", "2026-11-01 12:30"),  # back to EST that night
        ("America/Denver", "2026-07-04", "2026-07-04 13:30"),  # MDT, UTC-6
    ],
)
def test_it_stores_a_start_typed_in_the_admin_as_the_venues_clock(
    as_alice, alpha, zone, day, stored
):
    event = venue_event(alpha, zone, dt.date.fromisoformat(day))
    race = add_race(as_alice, event, day, "07:30")
    assert race.start_time == dt.datetime.fromisoformat(stored).replace(tzinfo=UTC)
    # Opened again, the form shows what was typed, and says in which zone.
    page = as_alice.get(reverse("admin:events_race_change", args=[race.pk]))
    field = page.context["adminform"].form["start_time"]
    assert [str(part) for part in field.field.widget.decompress(field.value())] == [
        day,
        "07:30:00",
    ]
    assert f"{zone} time." in page.content.decode()


def test_it_shows_the_typed_start_on_every_page_and_file(
    as_alice, alpha, alice, django_capture_on_commit_callbacks
):
    """A Paris race typed 07:30 on the night clocks go back: 07:30 everywhere."""
    event = venue_event(alpha, "Europe/Paris", dt.date(2026, 10, 25))
    race = add_race(as_alice, event, "2026-10-25", "07:30")
    with django_capture_on_commit_callbacks(execute=True):
        entry = enter(race, user=alice)
    public = Client()

    assert "Sun 25 Oct, 07:30 CET" in public.get(event.get_absolute_url()).content.decode()
    entry_page = public.get(reverse("events:enter", args=[event.slug, race.slug]))
    assert "Sunday 25 October 2026, 07:30 CET" in entry_page.content.decode()
    assert "07:30 CET" in mail.outbox[-1].body
    assert "Sun 25 Oct 2026, 07:30 CET" in as_alice.get(reverse("events:my_races")).content.decode()
    live = public.get(reverse("tracking:live", args=[event.slug, race.slug])).content.decode()
    assert "<dd>07:30</dd>" in live and '"timezone": "Europe/Paris"' in live

    ics = public.get(reverse("events:calendar", args=[event.slug])).content
    assert b"DTSTART;TZID=Europe/Paris:20261025T073000" in ics
    start = icalendar.Calendar.from_ical(ics).walk("VEVENT")[1].decoded("DTSTART")
    assert start == dt.datetime(2026, 10, 25, 6, 30, tzinfo=UTC)

    html = public.get(event.get_absolute_url()).content.decode()
    ld = json.loads(html.split('<script type="application/ld+json">')[1].split("</script>")[0])
    assert "2026-10-25T07:30:00+01:00" in json.dumps(ld)

    admin = {
        "dashboard": reverse("admin:events_registration_dashboard"),
        "start list": reverse("admin:events_registration_start_list", args=[race.pk]),
        "race list": reverse("admin:events_race_changelist"),
    }
    assert "25 Oct 07:30 CET" in as_alice.get(admin["dashboard"]).content.decode()
    assert "Sunday 25 October 2026, 07:30 CET" in as_alice.get(admin["start list"]).content.decode()
    assert "25 Oct 2026, 07:30 CET" in as_alice.get(admin["race list"]).content.decode()

    rows = _export(as_alice, entry, "export_csv")
    assert rows[1][rows[0].index("Start")] == "2026-10-25 07:30"
    sheet = load_workbook(io.BytesIO(_export(as_alice, entry, "export_xlsx", raw=True))).active
    header = [cell.value for cell in sheet[1]]
    assert sheet.cell(2, header.index("Start") + 1).value == dt.datetime(2026, 10, 25, 7, 30)


def _export(client: Client, entry: Registration, action: str, raw: bool = False) -> Any:
    data = {"action": action, "index": "0", "_selected_action": [entry.pk]}
    content = client.post(reverse("admin:events_registration_changelist"), data).content
    return content if raw else list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def test_it_refuses_a_start_in_the_hour_the_clocks_skip(as_alice, alpha):
    event = venue_event(alpha, "Europe/Paris", dt.date(2026, 3, 29))
    response = as_alice.post(ADMIN_RACE_ADD, race_form(event, "2026-03-29", "02:30"))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["start_time"]
    assert errors == [
        "02:30 does not exist on 29 Mar 2026 in Europe/Paris: the clocks go forward that night "
        "and skip it. Type a time outside the gap, such as 03:30."
    ]
    assert not Race.objects.filter(event=event).exists()


def test_it_takes_the_first_of_a_repeated_hour_and_says_so(as_alice, alpha):
    event = venue_event(alpha, "Europe/Paris", dt.date(2026, 10, 25))
    response = as_alice.post(ADMIN_RACE_ADD, race_form(event, "2026-10-25", "02:30"), follow=True)
    race = Race.objects.get(event=event)
    assert race.start_time == dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST
    said = [str(m) for m in response.context["messages"]]
    assert (
        "02:30 on 25 Oct 2026 happens twice in Europe/Paris (the clocks go back that night): "
        "Pace took the first one, 02:30 CEST (00:30 UTC)." in said
    )


# --- Every other typed time: price tiers, discount codes ------------------------------------


def test_it_reads_price_tier_and_discount_code_deadlines_at_the_venue(as_alice, alpha):
    event = venue_event(alpha, "America/New_York", dt.date(2026, 10, 10))
    race = add_race(as_alice, event, "2026-10-10", "08:00")
    data = race_form(event, "2026-10-10", "08:00:00") | {
        "price_tiers-TOTAL_FORMS": "1", "price_tiers-0-name": "Early bird",
        "price_tiers-0-price": "15", "price_tiers-0-until_0": "2026-09-30",
        "price_tiers-0-until_1": "23:59",
    }  # fmt: skip
    response = as_alice.post(reverse("admin:events_race_change", args=[race.pk]), data)
    assert response.status_code == 302, response.context["errors"]
    tier = PriceTier.objects.get(race=race)
    assert tier.until == dt.datetime(2026, 10, 1, 3, 59, tzinfo=UTC)
    assert str(tier) == "Early bird: 15.00 until 2026-09-30 23:59"

    code = {
        "event": event.pk, "race": "", "code": "FALL", "kind": "percent", "amount": "10",
        "valid_until_0": "2026-10-01", "valid_until_1": "00:30", "active": "on",
    }  # fmt: skip
    response = as_alice.post("/admin/events/discountcode/add/", code)
    assert response.status_code == 302, response.context["errors"]
    saved = DiscountCode.objects.get(code="FALL")
    assert saved.valid_until == dt.datetime(2026, 10, 1, 4, 30, tzinfo=UTC)
    listing = as_alice.get("/admin/events/discountcode/").content.decode()
    assert "1 Oct 2026, 00:30 EDT" in listing


def test_it_shows_an_entrys_times_in_the_admin_at_the_venue(as_alice, alpha):
    event = venue_event(alpha, "America/Denver", dt.date(2026, 7, 4))
    race = add_race(as_alice, event, "2026-07-04", "07:30")
    entry = enter(race)
    page = as_alice.get(reverse("admin:events_registration_change", args=[entry.pk]))
    assert "1 Jun 2026, 03:00 MDT" in page.content.decode()  # 09:00 UTC is 03:00 MDT
    listing = as_alice.get(reverse("admin:events_registration_changelist")).content.decode()
    assert "1 Jun 2026, 03:00 MDT" in listing
    history = as_alice.get(reverse("admin:events_race_history", args=[race.pk]))
    assert "1 Jun 2026, 03:00 MDT" in history.content.decode()  # when alice added the race


# --- Days at the venue ----------------------------------------------------------------------


def test_it_takes_an_athletes_age_on_the_venues_race_day(alpha):
    """A 00:30 start in Paris on 1 November is 31 October in UTC: she is 40 on race day."""
    event = venue_event(alpha, "Europe/Paris", dt.date(2026, 11, 1))
    race = make_race(event)
    race.start_time = dt.datetime(2026, 10, 31, 23, 30, tzinfo=UTC)
    race.save()
    race.categories.create(code="F-SEN", name="Senior", sex="F", min_age=18, max_age=39)
    race.categories.create(code="F-M40", name="Master 40", sex="F", min_age=40)
    category = category_for(race=race, birth_date=dt.date(1986, 11, 1), sex="F")
    assert category is not None and category.code == "F-M40"


def test_it_closes_changes_at_the_end_of_the_last_day_at_the_venue(as_alice, alpha):
    from events.entry_changes import _changes_allowed
    from events.registration import RegistrationError

    event = venue_event(alpha, "Europe/Paris", dt.date(2026, 10, 25))
    race = add_race(as_alice, event, "2026-10-25", "07:30")
    Event.objects.filter(pk=event.pk).update(
        allow_cancellation=True, changes_until=dt.date(2026, 9, 30)
    )
    entry = Registration.objects.select_related("race__event").get(pk=enter(race).pk)
    with time_machine.travel(dt.datetime(2026, 9, 30, 21, 30, tzinfo=UTC), tick=False):
        _changes_allowed(entry, "allow_cancellation")  # 23:30 in Paris: still the 30th
    late = dt.datetime(2026, 9, 30, 22, 30, tzinfo=UTC)  # 00:30 on 1 October in Paris
    with time_machine.travel(late, tick=False), pytest.raises(RegistrationError, match="deadline"):
        _changes_allowed(entry, "allow_cancellation")
