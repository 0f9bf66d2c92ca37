"""Entering a race paid by card: the entry, Stripe Checkout, the webhook that confirms it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone

from events.models import Event, Registration
from events.tests.factories import teammates_form
from payments.models import ConnectedAccount, MoneyLog, Payment
from payments.providers import method_problem
from payments.tests.conftest import ENTRY, enter, enter_url, post_event, session

pytestmark = pytest.mark.django_db


def _checkout(client, registration):
    return client.get(reverse("payments:checkout", args=[registration.manage_token]))


def test_it_takes_a_card_entry_through_checkout_and_confirms_it_when_paid(
    client, card_race, alpha_account, fake_stripe, settings, django_capture_on_commit_callbacks
):
    response = client.post(enter_url(card_race), ENTRY)
    registration = Registration.objects.get()
    assert response["Location"] == reverse("payments:checkout", args=[registration.manage_token])
    assert registration.status == Registration.Status.PENDING
    payment = registration.payments.get()
    assert (payment.status, payment.amount, payment.platform_fee) == (
        Payment.Status.PENDING, Decimal("40.00"), Decimal("2.85"),  # 5% + 1.5% + 0.25
    )  # fmt: skip

    response = _checkout(client, registration)

    assert response.status_code == 303
    [call] = fake_stripe.to("/v1/checkout/sessions")
    payment.refresh_from_db()
    registration.refresh_from_db()
    assert response["Location"] == payment.checkout_url
    assert payment.checkout_url.startswith("https://checkout.stripe.com/")
    entry_url = settings.SITE_URL + reverse("events:entry", args=[registration.manage_token])
    assert call.headers["Idempotency-Key"].startswith(f"checkout-{payment.pk}-")
    assert {k: call.params[k] for k in call.params if not k.startswith("line_items")} == {
        "mode": "payment",
        "payment_method_types[0]": "card",
        "payment_intent_data[application_fee_amount]": "285",
        "payment_intent_data[transfer_data][destination]": "acct_alpha",
        "payment_intent_data[metadata][payment_id]": str(payment.pk),
        "payment_intent_data[metadata][registration_id]": str(registration.pk),
        "metadata[payment_id]": str(payment.pk),
        "metadata[registration_id]": str(registration.pk),
        "customer_email": "runner@example.com",
        "client_reference_id": str(registration.pk),
        "expires_at": str(int(registration.hold_expires_at.timestamp())),
        "success_url": entry_url,
        "cancel_url": entry_url,
    }
    assert call.params["line_items[0][price_data][unit_amount]"] == "4000"
    assert call.params["line_items[0][price_data][currency]"] == "eur"
    assert (
        "service fee of 2.85 EUR"
        in call.params["line_items[0][price_data][product_data][description]"]
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = post_event(client, "checkout.session.completed", session(payment))

    assert response.json() == {"status": "processed"}
    registration.refresh_from_db()
    payment.refresh_from_db()
    assert registration.status == Registration.Status.CONFIRMED
    assert (payment.status, payment.stripe_payment_intent) == (
        Payment.Status.PAID,
        f"pi_{payment.pk}",
    )
    assert payment.paid_at is not None
    log = MoneyLog.objects.order_by("pk").values_list("action", "amount", "organizer__name")
    assert list(log) == [
        ("paid", Decimal("40.00"), "Alpha Races"),
        ("platform_fee", Decimal("2.85"), "Alpha Races"),
    ]
    [email] = mail.outbox
    assert email.to == ["runner@example.com"]


def test_it_sends_the_athlete_to_the_same_checkout_session_every_time(client, pending, fake_stripe):
    registration = pending.registration

    again = _checkout(client, registration)

    assert again.status_code == 303
    assert again["Location"] == Payment.objects.get().checkout_url
    assert len(fake_stripe.to("/v1/checkout/sessions")) == 1


def test_it_stretches_a_hold_too_short_for_stripe(
    client, card_race, alpha_account, fake_stripe, settings
):
    settings.PAYMENT_HOLD_MINUTES = 5
    registration = enter(client, card_race)

    _checkout(client, registration)

    registration.refresh_from_db()
    [call] = fake_stripe.to("/v1/checkout/sessions")
    assert registration.hold_expires_at is not None
    assert registration.hold_expires_at >= timezone.now() + dt.timedelta(minutes=30)
    assert call.params["expires_at"] == str(int(registration.hold_expires_at.timestamp()))


def test_it_refuses_card_entries_with_a_form_error_when_stripe_is_not_configured(client, card_race):
    response = client.post(enter_url(card_race), ENTRY)

    assert response.status_code == 400
    assert "Card payments are not available for this event yet." in response.content.decode()
    assert not Registration.objects.exists()
    assert not Payment.objects.exists()


def test_it_refuses_card_entries_while_the_organizer_cannot_take_card_payments(
    client, card_race, alpha, fake_stripe
):
    ConnectedAccount.objects.create(organizer=alpha, stripe_id="acct_new", charges_enabled=False)

    response = client.post(enter_url(card_race), ENTRY)

    assert response.status_code == 400
    assert "Card payments are not available for this event yet." in response.content.decode()
    assert not Registration.objects.exists()


def test_it_explains_when_the_account_stopped_taking_payments_before_checkout(
    client, card_race, alpha_account, fake_stripe
):
    registration = enter(client, card_race)
    ConnectedAccount.objects.update(charges_enabled=False)

    response = _checkout(client, registration)

    assert response.status_code == 503
    assert "cannot take card payments at the moment" in response.content.decode()
    assert not fake_stripe.calls


def test_it_asks_to_try_again_when_stripe_cannot_be_reached(
    client, card_race, alpha_account, fake_stripe
):
    registration = enter(client, card_race)
    fake_stripe.fail("/v1/checkout/sessions", status=500)

    response = _checkout(client, registration)

    assert response.status_code == 503
    assert "try again in a minute" in response.content.decode()
    assert Payment.objects.get().stripe_session_id is None
    assert _checkout(client, registration).status_code == 303


def test_it_sends_entries_with_nothing_to_pay_back_to_their_page(client, alpha_event):
    registration = enter(client, alpha_event.races.get())  # pay on site
    assert registration.status == Registration.Status.CONFIRMED

    response = _checkout(client, registration)

    assert response["Location"] == reverse("events:entry", args=[registration.manage_token])


def test_it_does_not_start_checkout_once_the_hold_ran_out(client, pending, fake_stripe):
    Payment.objects.update(checkout_url="")
    Registration.objects.update(hold_expires_at=timezone.now() - dt.timedelta(seconds=1))

    response = client.get(
        reverse("payments:checkout", args=[pending.registration.manage_token]), follow=True
    )

    assert "The time to pay for this entry has run out." in response.content.decode()
    assert len(fake_stripe.to("/v1/checkout/sessions")) == 1


def test_it_confirms_a_whole_team_with_its_payment(
    client, card_race, alpha_account, fake_stripe, django_capture_on_commit_callbacks
):
    card_race.team_size = 2
    card_race.save()
    form = teammates_form(("Tom", "1985-01-01", "M"))
    registration = enter(client, card_race, team_name="Duo", **form)
    assert set(Registration.objects.values_list("status", flat=True)) == {"pending"}
    _checkout(client, registration)

    with django_capture_on_commit_callbacks(execute=True):
        post_event(client, "checkout.session.completed", session(registration.payments.get()))

    assert set(Registration.objects.values_list("status", flat=True)) == {"confirmed"}


def test_it_shows_the_platform_fee_in_a_price():
    rendered = Template("{% load payment_tags %}{{ price|platform_fee }}").render(
        Context({"price": Decimal("40.00")})
    )

    assert rendered == "2.85"


def test_it_tells_organizers_what_card_payments_need(alpha, fake_stripe, settings):
    account = ConnectedAccount.objects.create(organizer=alpha, stripe_id="acct_1")

    assert "onboard on Stripe first" in method_problem(organizer_id=alpha.pk, method="stripe")
    assert method_problem(organizer_id=alpha.pk, method="on_site") == ""
    account.charges_enabled = True
    account.save()
    assert method_problem(organizer_id=alpha.pk, method="stripe") == ""
    settings.STRIPE_SECRET_KEY = ""
    assert method_problem(organizer_id=alpha.pk, method="stripe") != ""


def test_it_does_not_start_checkout_once_the_event_is_cancelled(
    client, card_race, alpha_account, fake_stripe
):
    registration = enter(client, card_race)
    Event.objects.filter(pk=card_race.event_id).update(status=Event.Status.CANCELLED)

    response = _checkout(client, registration)

    assert response["Location"] == reverse("events:entry", args=[registration.manage_token])
    page = client.get(response["Location"])
    assert "This event is cancelled" in page.content.decode()
    assert not fake_stripe.to("/v1/checkout/sessions")


def test_it_caps_the_unpaid_card_entries_one_ip_holds_in_a_race(
    client, card_race, alpha_account, settings
):
    """A card entry holds its place until paid: unpaid ones count against the sender too."""
    settings.ENTRY_HOLDS_PER_IP = 2
    card_race.capacity = None
    card_race.save()
    for n in range(2):
        assert enter(client, card_race, email=f"r{n}@example.com").status == "pending"

    refused = client.post(enter_url(card_race), {**ENTRY, "email": "r2@example.com"})

    assert refused.status_code == 429
    assert b"waiting to be confirmed in this race" in refused.content
    assert Registration.objects.count() == 2


@pytest.mark.parametrize("token", ["%00", "a%00b", "%C3%A9t%C3%A9", "x" * 300])
def test_it_answers_404_for_a_token_that_cannot_be_one(client, db, token):
    assert client.get(f"/payments/checkout/{token}/").status_code == 404
