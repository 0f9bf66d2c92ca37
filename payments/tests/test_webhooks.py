"""Stripe's webhook: verified, processed once, in any order."""

from __future__ import annotations

import datetime as dt
import json
import time
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from events.models import WaitlistEntry
from events.waitlist import release_expired
from payments.models import ConnectedAccount, MoneyLog, Refund, WebhookEvent
from payments.providers import PROVIDERS
from payments.tests.conftest import charge, enter, post_event, session
from payments.tests.fake_stripe import WEBHOOK_SECRET, event, sign

pytestmark = pytest.mark.django_db


def _state(payment):
    payment.refresh_from_db()
    payment.registration.refresh_from_db()
    return payment.status, payment.registration.status


def _raw(client, payload, header):
    headers = {"HTTP_STRIPE_SIGNATURE": header} if header is not None else {}
    url = reverse("payments:stripe_webhook")
    return client.post(url, payload, content_type="application/json", **headers)


def _completed(pending):
    return event("checkout.session.completed", session(pending))


BAD_DELIVERIES = {
    "forged": lambda body: (body, sign(body, secret="whsec_not_ours")),
    "stale": lambda body: (body, sign(body, timestamp=int(time.time()) - 301)),
    "missing header": lambda body: (body, None),
    "garbled header": lambda body: (body, "t=yesterday,v1=abc"),
    "changed body": lambda body: (body.replace('"paid"', '"unpaid"', 1), sign(body)),
    "not JSON": lambda body: ("{not json", sign("{not json")),
    "not an event": lambda body: ("[1, 2]", sign("[1, 2]")),
}


@pytest.mark.parametrize("how", BAD_DELIVERIES)
def test_it_refuses_deliveries_not_signed_by_stripe_and_changes_nothing(
    client, pending, how, django_capture_on_commit_callbacks
):
    payload, header = BAD_DELIVERIES[how](_completed(pending))

    with django_capture_on_commit_callbacks(execute=True):
        response = _raw(client, payload, header)

    assert response.status_code == 400
    assert _state(pending) == ("pending", "pending")
    assert not WebhookEvent.objects.exists()
    assert not MoneyLog.objects.exists()
    assert not mail.outbox


def test_it_accepts_either_endpoints_signing_secret(client, pending):
    response = post_event(client, "checkout.session.completed", session(pending))

    assert response.status_code == 200  # signed with the second of the two secrets
    assert _state(pending) == ("paid", "confirmed")


def test_it_processes_a_replayed_event_once(client, pending, django_capture_on_commit_callbacks):
    body = _completed(pending)

    with django_capture_on_commit_callbacks(execute=True):
        first = _raw(client, body, sign(body))
        second = _raw(client, body, sign(body))

    assert (first.json(), second.json()) == ({"status": "processed"}, {"status": "duplicate"})
    assert MoneyLog.objects.count() == 2
    assert len(mail.outbox) == 1


def test_it_processes_the_same_payment_once_under_different_event_ids(client, pending):
    post_event(client, "checkout.session.completed", session(pending))
    post_event(client, "checkout.session.completed", session(pending))

    assert list(MoneyLog.objects.order_by("pk").values_list("action", flat=True)) == [
        "paid",
        "platform_fee",
    ]


def test_it_ignores_event_types_it_does_not_handle(client, pending):
    response = post_event(client, "customer.created", {"id": "cus_1", "object": "customer"})

    assert response.json() == {"status": "ignored"}
    assert not WebhookEvent.objects.exists()


def test_it_keeps_a_paid_entry_when_the_expiry_comes_after_the_payment(client, pending):
    post_event(client, "checkout.session.completed", session(pending))

    post_event(client, "checkout.session.expired", session(pending, status="expired"))

    assert _state(pending) == ("paid", "confirmed")


def test_it_releases_an_unpaid_place_to_the_waitlist_when_the_session_expires(
    client, pending, card_race, django_capture_on_commit_callbacks
):
    card_race.capacity = 1
    card_race.save()
    waiting = WaitlistEntry.objects.create(race=card_race, name="Wendy", email="w@example.com")

    with django_capture_on_commit_callbacks(execute=True):
        post_event(client, "checkout.session.expired", session(pending, status="expired"))

    assert _state(pending) == ("expired", "cancelled")
    waiting.refresh_from_db()
    assert waiting.status == WaitlistEntry.Status.OFFERED
    assert mail.outbox[0].to == ["w@example.com"]


def test_it_keeps_the_place_after_a_declined_card_until_the_athlete_pays(client, pending):
    intent = {
        "id": f"pi_{pending.pk}", "object": "payment_intent", "status": "requires_payment_method",
        "metadata": {"payment_id": str(pending.pk)},
        "last_payment_error": {"message": "Your card was declined."},
    }  # fmt: skip

    post_event(client, "payment_intent.payment_failed", intent)
    assert _state(pending) == ("failed", "pending")
    pay_now = client.get(reverse("payments:checkout", args=[pending.registration.manage_token]))
    assert pay_now["Location"] == pending.checkout_url

    post_event(client, "checkout.session.completed", session(pending))
    assert _state(pending) == ("paid", "confirmed")


def test_it_releases_the_place_when_a_declined_payment_is_never_retried(client, pending):
    intent = {"id": "pi_x", "object": "payment_intent", "metadata": {"payment_id": str(pending.pk)}}
    post_event(client, "payment_intent.payment_failed", intent)

    post_event(client, "checkout.session.expired", session(pending, status="expired"))

    assert _state(pending) == ("expired", "cancelled")


def test_it_confirms_a_late_payment_again_when_the_place_is_still_free(
    client, pending, django_capture_on_commit_callbacks
):
    release_expired(now=timezone.now() + dt.timedelta(hours=1))
    assert _state(pending) == ("expired", "cancelled")

    with django_capture_on_commit_callbacks(execute=True):
        post_event(client, "checkout.session.completed", session(pending))

    assert _state(pending) == ("paid", "confirmed")
    assert not Refund.objects.exists()
    assert len(mail.outbox) == 1


def test_it_refunds_a_late_payment_automatically_when_the_place_is_gone(
    client, pending, card_race, fake_stripe, django_capture_on_commit_callbacks
):
    release_expired(now=timezone.now() + dt.timedelta(hours=1))
    enter(client, card_race, email="second@example.com")
    enter(client, card_race, email="third@example.com")  # both places are held again

    with django_capture_on_commit_callbacks(execute=True):
        post_event(client, "checkout.session.completed", session(pending))

    assert _state(pending) == ("refunded", "cancelled")
    [call] = fake_stripe.to("/v1/refunds")
    assert call.params == {
        "payment_intent": f"pi_{pending.pk}", "amount": "4000", "reverse_transfer": "true",
        "refund_application_fee": "true", "metadata[payment_id]": str(pending.pk),
    }  # fmt: skip
    assert call.headers["Idempotency-Key"].startswith(f"refund-{pending.pk}-")
    assert call.headers["Idempotency-Key"].endswith("-unplaced")
    log = pending.log.order_by("pk").values_list("action", "amount")
    assert list(log) == [
        ("paid", Decimal("40.00")),
        ("platform_fee", Decimal("2.85")),
        ("refund", Decimal("-40.00")),
        ("platform_fee_refund", Decimal("-2.85")),
    ]
    [notice] = mail.outbox  # no confirmation: the athlete is told the money comes back
    assert notice.subject == "Refund of your entry: Alpha Marathon, Marathon"
    assert "40.00 EUR of your payment for your entry is on its way back" in notice.body


def test_it_refunds_a_payment_for_an_entry_cancelled_on_purpose(
    client, pending, fake_stripe, django_capture_on_commit_callbacks
):
    from events.entry_changes import registration_cancel

    registration_cancel(registration=pending.registration, by_organizer=True)

    with django_capture_on_commit_callbacks(execute=True):
        post_event(client, "checkout.session.completed", session(pending))

    assert _state(pending) == ("refunded", "cancelled")
    assert len(fake_stripe.to("/v1/refunds")) == 1


def test_it_records_a_refund_made_on_stripe_even_before_the_payment_event(client, pending):
    post_event(client, "charge.refunded", charge(pending, refunded=Decimal("15.00")))

    assert _state(pending) == ("part_refunded", "confirmed")
    refund = Refund.objects.get()
    assert (refund.amount, refund.created_by) == (Decimal("15.00"), None)

    post_event(client, "checkout.session.completed", session(pending))
    post_event(client, "charge.refunded", charge(pending, refunded=Decimal("10.00")))  # older
    post_event(client, "charge.refunded", charge(pending, refunded=Decimal("15.00")))  # same

    pending.refresh_from_db()
    assert pending.refunded_amount == Decimal("15.00")
    assert Refund.objects.count() == 1
    assert list(pending.log.order_by("pk").values_list("action", "amount")) == [
        ("paid", Decimal("40.00")),
        ("platform_fee", Decimal("2.85")),
        ("refund", Decimal("-15.00")),
    ]


def test_it_keeps_the_connected_account_current_from_stripe(client, alpha_account, fake_stripe):
    fake_stripe.accounts["acct_alpha"].update(charges_enabled=False, payouts_enabled=False)
    stale = {"id": "acct_alpha", "object": "account", "charges_enabled": True}

    response = post_event(client, "account.updated", stale)

    assert response.status_code == 200
    alpha_account.refresh_from_db()
    assert (alpha_account.charges_enabled, alpha_account.payouts_enabled) == (False, False)
    assert fake_stripe.to("/v1/accounts/acct_alpha", method="GET")


def test_it_ignores_accounts_that_are_not_ours(client, fake_stripe):
    response = post_event(client, "account.updated", {"id": "acct_else", "object": "account"})

    assert response.status_code == 200
    assert not ConnectedAccount.objects.exists()
    assert not fake_stripe.calls


def test_it_marks_an_account_stripe_no_longer_knows_disconnected_and_answers_200(
    client, alpha_account, fake_stripe
):
    del fake_stripe.accounts["acct_alpha"]  # deleted, or it left the platform
    obj = {"id": "acct_alpha", "object": "account", "charges_enabled": True}

    response = post_event(client, "account.updated", obj, event_id="evt_gone_1")
    again = post_event(client, "account.updated", obj, event_id="evt_gone_1")

    assert (response.status_code, response.json()) == (200, {"status": "processed"})
    assert again.json() == {"status": "duplicate"}  # Stripe has its answer: no redelivery
    alpha_account.refresh_from_db()
    assert alpha_account.disconnected_at is not None
    assert (alpha_account.charges_enabled, alpha_account.payouts_enabled) == (False, False)
    assert not PROVIDERS["stripe"].available(organizer_id=alpha_account.organizer_id)


@pytest.mark.parametrize(
    ("status", "kind", "message"),
    [
        (
            403,
            "invalid_request_error",
            "The provided key 'rk_live_****' does not have the "
            "required permissions for this endpoint on account 'acct_alpha'.",
        ),
        (404, "invalid_request_error", "Unrecognized request URL (GET: /v1/accounts/acct_alpha)."),
    ],
)
def test_it_keeps_an_account_connected_when_stripe_refuses_for_another_reason(
    client, alpha_account, fake_stripe, status, kind, message
):
    """A restricted key short of a permission is Pace's problem, not the organizer's account."""
    fake_stripe.fail("/v1/accounts/acct_alpha", status=status, message=message, kind=kind)
    obj = {"id": "acct_alpha", "object": "account"}

    response = post_event(client, "account.updated", obj)

    assert response.status_code in (200, 503)
    alpha_account.refresh_from_db()
    assert alpha_account.disconnected_at is None


def test_it_connects_the_account_again_when_stripe_knows_it_again(
    client, alpha_account, fake_stripe
):
    state = fake_stripe.accounts.pop("acct_alpha")
    post_event(client, "account.updated", {"id": "acct_alpha", "object": "account"})
    fake_stripe.accounts["acct_alpha"] = state

    post_event(client, "account.updated", {"id": "acct_alpha", "object": "account"})

    alpha_account.refresh_from_db()
    assert (alpha_account.disconnected_at, alpha_account.charges_enabled) == (None, True)


def test_it_marks_an_account_disconnected_when_the_organizer_deauthorizes_the_platform(
    client, alpha_account, fake_stripe
):
    # Stripe's shape: the application is the event's object, the account is on the event.
    application = {"id": "ca_pace_platform", "object": "application", "name": "Pace"}
    payload = event("account.application.deauthorized", application, account="acct_alpha")

    response = _raw(client, payload, sign(payload))

    assert response.json() == {"status": "processed"}
    alpha_account.refresh_from_db()
    assert alpha_account.disconnected_at is not None
    assert alpha_account.charges_enabled is False
    assert not fake_stripe.calls  # Stripe would refuse to say anything about it now


def test_it_answers_a_refusal_that_asking_again_cannot_change_with_200(
    client, alpha_account, fake_stripe
):
    fake_stripe.fail("/v1/accounts/acct_alpha", status=401, kind="authentication_error")

    response = post_event(client, "account.updated", {"id": "acct_alpha", "object": "account"})

    assert (response.status_code, response.json()["status"]) == (200, "failed")
    assert not WebhookEvent.objects.exists()  # a resend from the Dashboard processes it


def test_it_asks_stripe_to_deliver_again_when_it_cannot_check_the_account(
    client, alpha_account, fake_stripe
):
    fake_stripe.accounts["acct_alpha"]["details_submitted"] = False
    fake_stripe.fail("/v1/accounts/acct_alpha", status=500)
    obj = {"id": "acct_alpha", "object": "account"}

    failed = post_event(client, "account.updated", obj, event_id="evt_account_1")
    again = post_event(client, "account.updated", obj, event_id="evt_account_1")

    assert (failed.status_code, again.json()) == (503, {"status": "processed"})
    alpha_account.refresh_from_db()
    assert alpha_account.details_submitted is False


def test_it_has_no_webhook_without_stripe(client, settings):
    payload = json.dumps({"id": "evt_1"})

    response = _raw(client, payload, sign(payload, secret=WEBHOOK_SECRET))

    assert response.status_code == 404
