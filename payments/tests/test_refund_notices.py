"""A refund tells the athlete how much comes back, and shows wherever the entry's status does.

A refund made in the back office, on Stripe's Dashboard or automatically (a
payment that found no place) sent no e-mail, and the entry kept saying only
"Confirmed" in the admin and in My races.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from events.models import Registration
from payments.models import Refund
from payments.tests.conftest import charge, post_event, session

pytestmark = pytest.mark.django_db


def _as(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def paid(client, pending, dave):
    """Rita's 40 EUR card entry, paid, in Dave's account (he entered for her while logged in)."""
    post_event(client, "checkout.session.completed", session(pending))
    Registration.objects.filter(pk=pending.registration_id).update(user=dave)
    mail.outbox.clear()
    pending.refresh_from_db()
    return pending


def _refund(admin: Client, payment, amount: str) -> None:
    url = reverse("admin:payments_payment_refund", args=[payment.pk])
    key = admin.get(url).context["form"]["key"].initial
    data = {"key": key, "amount": amount, "reason": "Injured", "refund_application_fee": "on"}
    response = admin.post(url, data)
    assert response.status_code == 302, response.content.decode()[:500]


def test_it_emails_the_athlete_a_refund_made_in_the_back_office_and_shows_it(
    paid, alice, dave, django_capture_on_commit_callbacks
):
    admin = _as(alice)
    with django_capture_on_commit_callbacks(execute=True):
        _refund(admin, paid, "10")

    [notice] = mail.outbox
    assert notice.to == [paid.registration.email]
    assert notice.subject == "Refund of your entry: Alpha Marathon, Marathon"
    assert "10.00 EUR of your payment for your entry is on its way back to your card" in notice.body
    assert "Refunded: 10.00 EUR in all" in notice.body
    assert paid.registration.manage_token in notice.body
    listed = admin.get(reverse("admin:events_registration_changelist")).content.decode()
    assert "Card (Stripe) · 10.00 EUR refunded" in listed
    races = _as(dave).get(reverse("events:my_races")).content.decode()
    assert '<span class="entry-status">Confirmed · 10.00 EUR refunded</span>' in races
    entry = _as(dave).get(reverse("events:entry", args=[paid.registration.manage_token]))
    assert "Partially refunded (10.00 EUR refunded)" in entry.content.decode()


def test_it_emails_the_athlete_a_refund_made_on_stripes_dashboard(
    client, paid, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post_event(client, "charge.refunded", charge(paid, refunded=Decimal("40.00")))
        post_event(client, "charge.refunded", charge(paid, refunded=Decimal("40.00")))  # again

    [notice] = mail.outbox  # once: the second event records nothing new
    assert "40.00 EUR of your payment" in notice.body
    assert Refund.objects.get().amount == Decimal("40.00")


def test_it_sends_nothing_when_stripe_refuses_the_refund(
    paid, alice, fake_stripe, django_capture_on_commit_callbacks
):
    fake_stripe.fail("/v1/refunds", status=400, message="Charge already refunded")
    url = reverse("admin:payments_payment_refund", args=[paid.pk])
    admin = _as(alice)
    key = admin.get(url).context["form"]["key"].initial

    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(url, {"key": key, "amount": "10", "reason": "Injured"})

    assert response.status_code == 400
    assert not Refund.objects.exists()
    assert not mail.outbox


def test_it_emails_a_cancelled_athlete_who_paid_that_a_refund_is_the_organizers_to_make(
    paid, alice, django_capture_on_commit_callbacks
):
    data = {
        "action": "cancel_entries",
        "_selected_action": [paid.registration_id],
        "confirm": "yes",
    }
    with django_capture_on_commit_callbacks(execute=True):
        _as(alice).post(reverse("admin:events_registration_changelist"), data)

    [notice] = mail.outbox
    assert "You paid 40.00 EUR for it" in notice.body
