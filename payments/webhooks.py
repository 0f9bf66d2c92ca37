"""Stripe's webhook events: each processed once, in whatever order they arrive.

The event's id is stored in the transaction that handles it, so a replay (or
a concurrent second delivery) finds it and does nothing, and a failure stores
nothing and Stripe delivers again. Handlers only move states forward: a
payment that is paid stays paid when a late ``expired`` comes, refunded
amounts only grow, and an account's state is read fresh from Stripe instead of
trusting an event that may be older than the last one.

Declined cards (``payment_intent.payment_failed``) mark the payment failed but
keep the place: Checkout lets the athlete try another card until the session
expires with the hold, and then ``checkout.session.expired`` releases it.

A payment completed after its entry was cancelled (its hold ran out a moment
before) is recorded, then the entry is confirmed again if its race still has a
place; otherwise, or when the entry was cancelled on purpose, the money goes
back automatically.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from events.models import Race, Registration
from events.registration import places_left
from events.tasks import send_registration_confirmation
from events.waitlist import waitlist_offer_places
from payments import stripe
from payments.checkout import entries_of, money_log
from payments.models import ConnectedAccount, Payment, WebhookEvent
from payments.refunds import refund_seen_on_stripe
from payments.tasks import refund_unplaced_payment

logger = logging.getLogger(__name__)

SETTLED = (Payment.Status.PAID, Payment.Status.REFUNDED, Payment.Status.PARTIALLY_REFUNDED)


def webhook_process(*, event: dict[str, Any]) -> str:
    """Handle one verified event once; returns "processed", "duplicate" or "ignored"."""
    handler = HANDLERS.get(str(event.get("type")))
    if handler is None:
        return "ignored"
    with transaction.atomic():
        try:
            with transaction.atomic():
                WebhookEvent.objects.create(stripe_id=event["id"], type=event["type"])
        except IntegrityError:
            return "duplicate"
        handler(event["data"]["object"])
    return "processed"


def _payment_for(obj: dict[str, Any], *, session: str = "", intent: str = "") -> Payment | None:
    """Our payment for a Stripe object, locked (its entry first, as the expiry sweep does)."""
    payment_id = str((obj.get("metadata") or {}).get("payment_id", ""))
    payments = Payment.objects.filter(method=Payment.Method.STRIPE)
    found = payments.filter(pk=int(payment_id)) if payment_id.isdigit() else payments.none()
    if session and not found.exists():
        found = payments.filter(stripe_session_id=session)
    if intent and not found.exists():
        found = payments.filter(stripe_payment_intent=intent)
    ids = found.values("pk", "registration_id").first()
    if ids is None:
        logger.warning("Stripe object %s matches no payment", obj.get("id"))
        return None
    Registration.objects.select_for_update().filter(pk=ids["registration_id"]).first()
    return (
        Payment.objects.select_for_update(of=("self",))
        .select_related("registration__event", "registration__race")
        .get(pk=ids["pk"])
    )


def _confirm(registration: Registration, *, was: str) -> None:
    now_confirmed = entries_of(registration).filter(status=was)
    if now_confirmed.update(status=Registration.Status.CONFIRMED, cancelled_at=None):
        registration_id = registration.pk
        transaction.on_commit(lambda: send_registration_confirmation.delay(registration_id))


def _place_paid_entry(payment: Payment) -> None:
    """Confirm the paid entry; one cancelled meanwhile gets its place back if still free."""
    registration = payment.registration  # read after its row was locked
    if registration.status == Registration.Status.PENDING:
        _confirm(registration, was=Registration.Status.PENDING)
        return
    if registration.status == Registration.Status.CONFIRMED:
        return
    hold, cancelled = registration.hold_expires_at, registration.cancelled_at
    hold_ran_out = hold is not None and cancelled is not None and cancelled >= hold
    race = Race.objects.select_for_update(of=("self",)).get(pk=registration.race_id)
    if hold_ran_out and places_left(race=race) != 0:
        _confirm(registration, was=Registration.Status.CANCELLED)
        return
    logger.info("Payment %s came for cancelled entry %s: refunding", payment.pk, registration.pk)
    payment_id = payment.pk
    transaction.on_commit(lambda: refund_unplaced_payment.delay(payment_id), robust=True)


def _settle_paid(payment: Payment, *, intent: str, source: str) -> None:
    if payment.status in SETTLED:
        return
    payment.status, payment.paid_at = Payment.Status.PAID, timezone.now()
    payment.stripe_payment_intent = intent or payment.stripe_payment_intent
    payment.save(update_fields=["status", "paid_at", "stripe_payment_intent"])
    money_log(payment=payment, action="paid", amount=payment.amount, source=source, intent=intent)
    if payment.platform_fee:
        money_log(payment=payment, action="platform_fee", amount=payment.platform_fee)
    _place_paid_entry(payment)


def session_completed(session: dict[str, Any]) -> None:
    if session.get("payment_status") != "paid":
        return  # cards only: paid at completion; anything else is not money yet
    intent = str(session.get("payment_intent") or "")
    payment = _payment_for(session, session=session["id"], intent=intent)
    if payment is not None:
        _settle_paid(payment, intent=intent, source=session["id"])


def _release(registration: Registration) -> None:
    """An unpaid entry gives its place back, to the waitlist."""
    now = timezone.now()
    pending = entries_of(registration).filter(status=Registration.Status.PENDING)
    if pending.update(status=Registration.Status.CANCELLED, cancelled_at=now):
        race_id = registration.race_id
        transaction.on_commit(lambda: waitlist_offer_places(race_id=race_id))


def session_expired(session: dict[str, Any]) -> None:
    payment = _payment_for(session, session=session["id"])
    if payment is None or payment.status not in (Payment.Status.PENDING, Payment.Status.FAILED):
        return
    payment.status = Payment.Status.EXPIRED
    payment.save(update_fields=["status"])
    _release(payment.registration)


def payment_failed(intent: dict[str, Any]) -> None:
    payment = _payment_for(intent, intent=intent["id"])
    if payment is None or payment.status != Payment.Status.PENDING:
        return
    payment.status, payment.stripe_payment_intent = Payment.Status.FAILED, intent["id"]
    payment.save(update_fields=["status", "stripe_payment_intent"])
    error = (intent.get("last_payment_error") or {}).get("message", "")
    logger.info("Payment %s declined: %s", payment.pk, error)


def charge_refunded(charge: dict[str, Any]) -> None:
    intent = str(charge.get("payment_intent") or "")
    payment = _payment_for(charge, intent=intent)
    if payment is None:
        return
    if charge.get("paid") and payment.status not in SETTLED:
        _settle_paid(payment, intent=intent, source=charge["id"])  # the refund came first
    total = stripe.from_minor(int(charge.get("amount_refunded") or 0), payment.currency)
    refund_seen_on_stripe(payment=payment, refunded_total=total)


def account_updated(account: dict[str, Any]) -> None:
    connected = ConnectedAccount.objects.select_for_update().filter(stripe_id=account["id"]).first()
    if connected is None:
        return
    # Events may arrive out of order: the account's state now is the one to keep.
    state = stripe.account_retrieve(account_id=connected.stripe_id)
    for name, value in state.items():
        setattr(connected, name, value)
    connected.save()


HANDLERS: dict[str, Callable[[dict[str, Any]], None]] = {
    "checkout.session.completed": session_completed,
    "checkout.session.expired": session_expired,
    "payment_intent.payment_failed": payment_failed,
    "charge.refunded": charge_refunded,
    "account.updated": account_updated,
}
