from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from events.models import Event, RaceQuestion, Registration
from events.registration import RegistrationError, category_for, registration_create
from events.tests.factories import ENTRY_FORM, make_entry_race

ENTRY = {**ENTRY_FORM, "club": "AC Annecy", "tshirt_size": "M"}


@pytest.fixture
def race(alpha_event):
    return make_entry_race(alpha_event)


def _url(race):
    return reverse("events:enter", args=[race.event.slug, race.slug])


def test_it_lists_a_logged_in_athletes_entries(client, race, dave):
    client.force_login(dave)
    client.post(_url(race), ENTRY)
    page = client.get(reverse("events:my_races"))
    assert Registration.objects.get().user == dave
    assert race.event.name.encode() in page.content


def test_it_never_takes_the_price_from_the_form(client, race):
    client.post(_url(race), {**ENTRY, "price": "0.01", "currency": "XXX", "status": "cancelled"})
    entry = Registration.objects.get()
    assert (entry.price, entry.currency) == (Decimal("25.00"), "EUR")
    assert entry.status == Registration.Status.UNVERIFIED


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"waiver": ""}, b"This field is required"),
        ({"birth_date": "not a date"}, b"Enter a valid date"),
        ({"email": "nope"}, b"Enter a valid email"),
        ({"sex": "Q"}, b"Select a valid choice"),
        ({"nationality": "ZZ"}, b"Select a valid choice"),
        ({"first_name": ""}, b"This field is required"),
        ({"birth_date": "2090-01-01"}, b"birth date is after the race"),
        ({"birth_date": "1800-01-01"}, b"Enter a birth date in 1900 or later"),
        ({"birth_date": "1899-12-31"}, b"Enter a birth date in 1900 or later"),
        # Day and month are not guessed: 3 April in Spain, 4 March in the US.
        ({"birth_date": "03/04/1990"}, b"Enter a valid date"),
    ],
)
def test_it_answers_bad_entries_with_form_errors(client, race, change, error):
    response = client.post(_url(race), {**ENTRY, **change})
    assert response.status_code == 400
    assert error in response.content
    assert not Registration.objects.exists()


def test_it_never_exceeds_capacity(client, race):
    for _ in range(2):
        assert client.post(_url(race), ENTRY).status_code == 302
    response = client.post(_url(race), ENTRY)
    assert response.status_code == 400
    assert b"This race is full" in response.content
    assert Registration.objects.count() == 2


def test_it_refuses_entries_to_closed_drafts_and_started_races(client, race, alice):
    event = race.event
    event.registration_open = False
    event.save()
    assert b"closed" in client.post(_url(race), ENTRY).content
    event.registration_open, event.status = True, Event.Status.DRAFT
    event.save()
    assert client.post(_url(race), ENTRY).status_code == 404
    event.status = Event.Status.PUBLISHED
    event.save()
    race.start_time = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    race.save()
    assert b"this race started on" in client.post(_url(race), ENTRY).content
    assert not Registration.objects.exists()


def test_it_asks_the_races_questions(client, race):
    q1 = RaceQuestion.objects.create(
        race=race, label="Bus from the finish?", kind="yes_no", required=True
    )
    q2 = RaceQuestion.objects.create(
        race=race, label="Diet", kind="choice", choices="Vegan\nOmnivore"
    )
    missing = client.post(_url(race), ENTRY)
    assert missing.status_code == 400 and not Registration.objects.exists()
    bad = client.post(_url(race), {**ENTRY, f"q_{q1.pk}": "yes", f"q_{q2.pk}": "Cheese"})
    assert bad.status_code == 400 and not Registration.objects.exists()
    client.post(_url(race), {**ENTRY, f"q_{q1.pk}": "yes", f"q_{q2.pk}": "Vegan"})
    assert Registration.objects.get().answers == {str(q1.pk): "yes", str(q2.pk): "Vegan"}


def test_it_picks_the_category_by_age_on_race_day(race):
    day = race.start_time.date()
    born_39 = day.replace(year=day.year - 40) + dt.timedelta(days=1)
    assert category_for(race=race, birth_date=born_39, sex="F").code == "F-SEN"
    assert (
        category_for(race=race, birth_date=born_39 - dt.timedelta(days=1), sex="F").code == "F-M40"
    )
    assert category_for(race=race, birth_date=born_39, sex="X") is None


def test_it_rejects_the_entry_in_the_function_too(race):
    race.capacity = 0
    race.save()
    entry = {**ENTRY, "birth_date": dt.date(1990, 1, 1)}
    with pytest.raises(RegistrationError, match="full"):
        registration_create(race=race, user=None, entry=entry, answers={})
