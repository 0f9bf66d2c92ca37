"""Payments fixtures: a local Stripe, an event paid by card, an entry, signed webhooks."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from events.models import Event, PaymentMethod, Race, Registration
from events.tests.factories import ENTRY_FORM
from payments import stripe as stripe_api
from payments.models import ConnectedAccount, Payment
from payments.tests.fake_stripe import WEBHOOK_SECRET, FakeStripe, event, sign

ENTRY = ENTRY_FORM


@pytest.fixture
def fake_stripe(settings: Any, monkeypatch: pytest.MonkeyPatch) -> FakeStripe:
    """Stripe configured with test keys, answered by the local fake."""
    settings.STRIPE_SECRET_KEY = "sk_test_pace"
    settings.STRIPE_WEBHOOK_SECRET = ["whsec_other_endpoint", WEBHOOK_SECRET]
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    fake = FakeStripe()
    monkeypatch.setattr(stripe_api, "http_client", fake)
    return fake


@pytest.fixture
def alpha_account(alpha: Any, fake_stripe: FakeStripe) -> ConnectedAccount:
    state = {"charges_enabled": True, "payouts_enabled": True, "details_submitted": True}
    fake_stripe.accounts["acct_alpha"] = {"id": "acct_alpha", "object": "account", **state}
    return ConnectedAccount.objects.create(organizer=alpha, stripe_id="acct_alpha", **state)


@pytest.fixture
def card_race(alpha_event: Event) -> Race:
    """Alpha's marathon, paid by card: 40 EUR, two places."""
    alpha_event.payment_method = PaymentMethod.STRIPE
    alpha_event.save()
    race = alpha_event.races.get()
    race.entry_fee, race.capacity = Decimal("40.00"), 2
    race.save()
    return race


def enter_url(race: Race) -> str:
    return reverse("events:enter", args=[race.event.slug, race.slug])


def enter(client: Client, race: Race, **changes: str) -> Registration:
    """Enter ``race`` through the entry form, as a guest who then follows the e-mailed link
    when the entry is held for it (no online payment); returns the new entry."""
    from events.notifications import entry_confirm_email_path

    response = client.post(enter_url(race), {**ENTRY, **changes})
    assert response.status_code == 302, response.content.decode()[:2000]
    registration = Registration.objects.get(email=changes.get("email", ENTRY["email"]))
    if registration.status == Registration.Status.UNVERIFIED:
        client.post(entry_confirm_email_path(registration))
        registration.refresh_from_db()
    return registration


@pytest.fixture
def pending(client: Client, card_race: Race, alpha_account: ConnectedAccount) -> Payment:
    """An entry of the card race sent to Stripe Checkout, not paid yet."""
    registration = enter(client, card_race)
    response = client.get(reverse("payments:checkout", args=[registration.manage_token]))
    assert response.status_code == 303
    return registration.payments.get()


def post_event(
    client: Client,
    kind: str,
    obj: dict[str, Any],
    *,
    event_id: str = "",
    secret: str = WEBHOOK_SECRET,
    timestamp: int | None = None,
) -> Any:
    """Deliver a webhook event signed as Stripe signs it."""
    payload = event(kind, obj, event_id=event_id)
    header = sign(payload, secret=secret, timestamp=timestamp)
    return client.post(
        reverse("payments:stripe_webhook"),
        payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=header,
    )


def session(payment: Payment, **changes: Any) -> dict[str, Any]:
    """The Checkout session of ``payment`` as Stripe sends it in events, paid by default."""
    payment.refresh_from_db()
    return {
        "id": payment.stripe_session_id,
        "object": "checkout.session",
        "status": "complete",
        "payment_status": "paid",
        "payment_intent": f"pi_{payment.pk}",
        "amount_total": stripe_api.to_minor(payment.amount, payment.currency),
        "currency": payment.currency.lower(),
        "metadata": {"payment_id": str(payment.pk)},
        **changes,
    }


def charge(payment: Payment, *, refunded: Decimal) -> dict[str, Any]:
    return {
        "id": f"ch_{payment.pk}",
        "object": "charge",
        "paid": True,
        "payment_intent": f"pi_{payment.pk}",
        "amount": stripe_api.to_minor(payment.amount, payment.currency),
        "amount_refunded": stripe_api.to_minor(refunded, payment.currency),
        "metadata": {"payment_id": str(payment.pk)},
    }
