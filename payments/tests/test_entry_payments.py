"""Entries that need no card, taken through the entry form: paid on site once the guest
confirms the e-mailed link (once, however often it is followed), or free and paid at once;
a relay team pays once; what the core's pages are told of an entry's payments."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse

from events import payment_providers
from events.models import Event, Registration
from events.notifications import entry_confirm_email_path
from events.payment_providers import PaymentLine
from events.tests.factories import ENTRY_FORM, make_entry_race, teammates_form
from payments.checkout import CheckoutProvider
from payments.models import Payment
from payments.tests.conftest import enter_url

pytestmark = pytest.mark.django_db

ENTRY = {**ENTRY_FORM, "club": "AC Annecy", "tshirt_size": "M"}


@pytest.fixture
def race(alpha_event):
    return make_entry_race(alpha_event)


def _confirm_link(message) -> str:
    return next(line for line in message.body.splitlines() if "/confirm/" in line).strip()


def test_it_enters_a_race_as_a_guest_and_sends_the_confirmation(
    client, race, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(enter_url(race), ENTRY)
    entry = Registration.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("events:entry", args=[entry.manage_token])
    # Held, not taken, until the guest follows the link e-mailed to them.
    assert entry.status == Registration.Status.UNVERIFIED
    assert not entry.payments.exists()
    assert len(mail.outbox) == 1
    assert b"Check your e-mail" in client.get(response["Location"]).content
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = client.post(_confirm_link(mail.outbox[0]).removeprefix(settings.SITE_URL))
    assert confirmed["Location"] == response["Location"]
    entry.refresh_from_db()
    assert entry.status == Registration.Status.CONFIRMED
    assert entry.user is None
    assert entry.category.code == "F-M40"
    assert entry.price == Decimal("25.00")
    payment = entry.payments.get()
    assert (payment.method, payment.status) == (Payment.Method.ON_SITE, Payment.Status.DUE_ON_SITE)
    assert len(mail.outbox) == 2
    assert entry.manage_token in mail.outbox[1].body
    page = client.get(response["Location"])
    assert b"Rita Runner" in page.content and b"Women 40+" in page.content


def test_it_makes_free_entries_paid_at_once(client, race):
    race.entry_fee = 0
    race.save()
    client.post(enter_url(race), ENTRY)
    client.post(entry_confirm_email_path(Registration.objects.get()))
    payment = Registration.objects.get().payments.get()
    assert (payment.method, payment.status, payment.amount) == ("free", "paid", Decimal(0))


def test_it_is_the_provider_the_core_takes_payments_through() -> None:
    assert isinstance(payment_providers.get(), CheckoutProvider)


def test_it_starts_one_payment_however_often_the_link_is_followed(client, race):
    client.post(enter_url(race), ENTRY)
    held = Registration.objects.get()
    for _ in range(2):
        assert client.post(entry_confirm_email_path(held)).status_code == 302
    assert list(held.payments.values_list("status", flat=True)) == ["due_on_site"]


def test_it_starts_no_payment_for_an_entry_confirmed_too_late(client, race):
    client.post(enter_url(race), ENTRY)
    held = Registration.objects.get()
    Event.objects.filter(pk=race.event_id).update(registration_open=False)
    client.post(entry_confirm_email_path(held))
    held.refresh_from_db()
    assert held.status == Registration.Status.UNVERIFIED
    assert not held.payments.exists()


def test_it_takes_a_relay_teams_fee_once_from_its_payer(client, race):
    race.team_size = 3
    race.save()
    mates = teammates_form(("Ann", "1990-01-01", "F"), ("Ben", "1991-01-01", "M"))
    client.post(enter_url(race), {**ENTRY, "team_name": "Fast Three", **mates})
    payer = Registration.objects.get(first_name="Rita")
    client.post(entry_confirm_email_path(payer))
    payment = Payment.objects.get()
    assert (payment.registration, payment.amount) == (payer, Decimal("25.00"))


def test_it_tells_the_core_each_entrys_payments_newest_first_in_one_query(
    client, race, django_assert_num_queries
):
    client.post(enter_url(race), ENTRY)
    paid = Registration.objects.get()
    client.post(entry_confirm_email_path(paid))
    client.post(enter_url(race), {**ENTRY, "email": "second@example.com"})
    unconfirmed = Registration.objects.get(email="second@example.com")
    later = Payment.objects.create(
        registration=paid, method=Payment.Method.STRIPE, amount=Decimal("25.00"), currency="EUR",
        status=Payment.Status.PARTIALLY_REFUNDED, refunded_amount=Decimal("10.00"),
    )  # fmt: skip
    Payment.objects.filter(pk=later.pk).update(created_at=later.created_at + dt.timedelta(1))
    with django_assert_num_queries(1):
        lines = payment_providers.get().payment_lines(registrations=[paid, unconfirmed])
    assert lines == {
        paid.pk: [
            PaymentLine(status="Partially refunded", refunded=Decimal("10.00"), currency="EUR"),
            PaymentLine(status="Due on site", refunded=Decimal("0.00"), currency="EUR"),
        ],
        unconfirmed.pk: [],
    }
