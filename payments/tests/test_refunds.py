"""Refunds from the back office: on Stripe with the chosen reversals, logged with who and why."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from events.models import Registration
from payments.models import MoneyLog, Payment, Refund
from payments.tests.conftest import charge, enter, post_event, session

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid(client, pending):
    """Rita's 40 EUR card payment (2.85 EUR platform fee), paid."""
    post_event(client, "checkout.session.completed", session(pending))
    pending.refresh_from_db()
    return pending


def _as(user):
    client = Client()
    client.force_login(user)
    return client


def _url(payment):
    return reverse("admin:payments_payment_refund", args=[payment.pk])


def _refund(user, payment, **data):
    client = _as(user)
    form = client.get(_url(payment)).context["form"]
    fields = {"key": form["key"].initial, "reverse_transfer": "on", "refund_application_fee": "on"}
    return client.post(_url(payment), {**fields, **data})


def _log(payment):
    rows = payment.log.order_by("pk").values_list("action", "amount", "actor__username")
    return [row for row in rows if row[0] not in ("paid", "platform_fee")]


def test_it_refunds_part_then_the_rest_on_stripe_with_the_chosen_reversals(
    paid, alice, fake_stripe
):
    response = _refund(alice, paid, amount="10.00", reason="Injured, organizer's goodwill")

    assert response.status_code == 302
    [call] = fake_stripe.to("/v1/refunds")
    assert call.params == {
        "payment_intent": f"pi_{paid.pk}", "amount": "1000", "reverse_transfer": "true",
        "refund_application_fee": "true", "metadata[payment_id]": str(paid.pk),
    }  # fmt: skip
    assert call.headers["Idempotency-Key"].startswith(f"refund-{paid.pk}-")
    paid.refresh_from_db()
    assert (paid.status, paid.refunded_amount) == ("part_refunded", Decimal("10.00"))
    refund = Refund.objects.get()
    assert (refund.created_by, refund.reason) == (alice, "Injured, organizer's goodwill")
    assert refund.stripe_refund_id.startswith("re_")

    _refund(alice, paid, amount="30.00", reason="Race cancelled")

    paid.refresh_from_db()
    assert (paid.status, paid.refunded_amount) == ("refunded", Decimal("40.00"))
    assert _log(paid) == [
        ("refund", Decimal("-10.00"), "alice"),
        ("platform_fee_refund", Decimal("-0.71"), "alice"),
        ("refund", Decimal("-30.00"), "alice"),
        ("platform_fee_refund", Decimal("-2.14"), "alice"),  # all of the fee, in the end
    ]
    reasons = [log.detail["reason"] for log in paid.log.filter(action="refund").order_by("pk")]
    assert reasons == ["Injured, organizer's goodwill", "Race cancelled"]
    page = _as(alice).get(reverse("admin:payments_payment_change", args=[paid.pk]))
    assert "platform_fee_refund" in page.content.decode()  # the log, on the payment's page


def test_it_can_keep_the_platform_fee_when_refunding(paid, alice, fake_stripe):
    _refund(alice, paid, amount="40.00", reason="Duplicate entry", refund_application_fee="")

    [call] = fake_stripe.to("/v1/refunds")
    assert call.params["refund_application_fee"] == "false"
    assert _log(paid) == [("refund", Decimal("-40.00"), "alice")]


def test_it_lets_only_platform_staff_refund_at_the_platforms_expense(
    paid, alice, iris, fake_stripe
):
    _refund(alice, paid, amount="5.00", reason="Organizer", reverse_transfer="")
    _refund(iris, paid, amount="5.00", reason="Our mistake", reverse_transfer="")

    organizer, staff = fake_stripe.to("/v1/refunds")
    assert (organizer.params["reverse_transfer"], staff.params["reverse_transfer"]) == (
        "true",
        "false",
    )


def test_it_refuses_more_than_is_left_with_a_form_error_and_changes_nothing(
    paid, alice, fake_stripe
):
    _refund(alice, paid, amount="30.00", reason="First")

    response = _refund(alice, paid, amount="10.01", reason="Too much")

    assert response.status_code == 400
    assert "At most 10.00 EUR can be refunded." in response.content.decode()
    assert len(fake_stripe.to("/v1/refunds")) == 1
    paid.refresh_from_db()
    assert paid.refunded_amount == Decimal("30.00")
    assert Refund.objects.count() == 1


def test_it_requires_a_reason(paid, alice, fake_stripe):
    response = _refund(alice, paid, amount="10.00", reason="")

    assert response.status_code == 400
    assert not fake_stripe.to("/v1/refunds")


def test_it_shows_stripes_refusal_and_records_nothing(paid, alice, fake_stripe):
    fake_stripe.fail("/v1/refunds", status=400, message="Charge already refunded")

    response = _refund(alice, paid, amount="10.00", reason="Injured")

    assert response.status_code == 400
    assert "Charge already refunded" in response.content.decode()
    assert not Refund.objects.exists()
    paid.refresh_from_db()
    assert (paid.status, paid.refunded_amount) == ("paid", Decimal("0.00"))


def test_it_refunds_once_when_the_same_form_is_sent_twice(paid, alice, fake_stripe):
    client = _as(alice)
    key = client.get(_url(paid)).context["form"]["key"].initial
    data = {"key": key, "amount": "10.00", "reason": "Double click", "refund_application_fee": "on"}

    client.post(_url(paid), data)
    client.post(_url(paid), data)

    assert len(fake_stripe.to("/v1/refunds")) == 2  # Stripe answers the same refund twice
    assert Refund.objects.count() == 1
    paid.refresh_from_db()
    assert paid.refunded_amount == Decimal("10.00")


def test_it_records_the_refund_webhook_of_its_own_refund_once(client, paid, alice, fake_stripe):
    _refund(alice, paid, amount="10.00", reason="Injured")

    post_event(client, "charge.refunded", charge(paid, refunded=Decimal("10.00")))

    assert Refund.objects.count() == 1
    paid.refresh_from_db()
    assert paid.refunded_amount == Decimal("10.00")


def test_it_records_money_given_back_by_hand_without_stripe(client, alpha_event, alice, bob):
    registration = enter(client, alpha_event.races.get())  # pay on site, 25 EUR
    payment = registration.payments.get()
    _as(bob).post(
        reverse("admin:payments_payment_changelist"),
        {"action": "mark_paid_on_site", "_selected_action": [payment.pk]},
    )

    response = _refund(alice, payment, amount="25.00", reason="Could not start")

    assert response.status_code == 302
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("refunded", Decimal("25.00"))
    assert list(payment.log.order_by("pk").values_list("action", "amount", "actor__username")) == [
        ("paid_on_site", Decimal("25.00"), "bob"),
        ("refund", Decimal("-25.00"), "alice"),
    ]
    assert MoneyLog.objects.get(action="refund").detail["by_hand"] is True
    assert Registration.objects.get().status == "confirmed"


def test_it_lets_only_owners_and_admins_refund(paid, bob, charlie, bravo, fake_stripe):
    assert _as(bob).get(_url(paid)).status_code == 403
    assert _as(charlie).get(_url(paid)).status_code == 404
    assert _as(charlie).post(_url(paid), {"amount": "1", "reason": "x"}).status_code == 404
    assert not fake_stripe.to("/v1/refunds")
    assert Payment.objects.get().refunded_amount == 0


def test_it_sends_the_refund_action_to_the_refund_page(paid, alice):
    response = _as(alice).post(
        reverse("admin:payments_payment_changelist"),
        {"action": "refund", "_selected_action": [paid.pk]},
    )

    assert response["Location"] == _url(paid)
