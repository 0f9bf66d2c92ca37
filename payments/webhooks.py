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

Every correctly signed body gets an answer Stripe will not redeliver: event types Pace
does not handle, thin v2 event notifications (``"object": "v2.core.event"``, with a
``related_object`` instead of ``data.object``), and events whose object is not what
their handler reads (another object type, a field missing or of another type) are
logged and ignored, storing nothing. Only a passing failure (Stripe or the database
out of reach) asks Stripe to deliver again. An account Stripe no longer knows is
marked disconnected (``account.updated`` for it, ``account.application.deauthorized``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from events.models import Race, Registration
from events.registration import entries_of, places_left
from events.tasks import send_registration_confirmation
from events.waitlist import waitlist_offer_places
from payments import stripe
from payments.accounts import account_disconnect
from payments.checkout import money_log
from payments.models import ConnectedAccount, Payment, WebhookEvent
from payments.refunds import refund_seen_on_stripe
from payments.tasks import refund_unplaced_payment

logger = logging.getLogger(__name__)

SETTLED = (Payment.Status.PAID, Payment.Status.REFUNDED, Payment.Status.PARTIALLY_REFUNDED)
# Stripe's ids are short printable ASCII: anything else (too long, a NUL, a lone surrogate
# the database cannot encode) is not one of ours.
STRIPE_ID = re.compile(r"[!-~]{1,255}")
PAYMENT_ID = re.compile(r"[0-9]{1,18}")
MINOR_MAX = 10**11  # an amount in minor units that fits our money columns


class UnexpectedEventError(ValueError):
    """A signed event whose object is not what its handler reads: ignored, not retried."""


def _text(obj: dict[str, Any], name: str, *, required: bool = True) -> str:
    """A string field of a Stripe object (an id), refused when it could not be one."""
    value = obj.get(name)
    if value in (None, "") and not required:
        return ""
    if not isinstance(value, str) or not STRIPE_ID.fullmatch(value):
        raise UnexpectedEventError(f"{name} is not a Stripe id: {value!r:.80}")
    return value


def _mapping(obj: dict[str, Any], name: str) -> dict[str, Any]:
    value = obj.get(name) or {}
    if not isinstance(value, dict):
        raise UnexpectedEventError(f"{name} is not an object")
    return value


def _minor(obj: dict[str, Any], name: str) -> int:
    value = obj.get(name) or 0
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < MINOR_MAX:
        raise UnexpectedEventError(f"{name} is not an amount: {value!r:.80}")
    return value


def _object(event: dict[str, Any], expected: str) -> dict[str, Any]:
    """The event's ``data.object``, when the event is a snapshot event of that object type."""
    if event.get("object") != "event":
        raise UnexpectedEventError(f"not a snapshot event (object {event.get('object')!r:.80})")
    obj = _mapping(_mapping(event, "data"), "object")
    if obj.get("object") != expected:
        raise UnexpectedEventError(f"data.object is not a {expected}")
    return obj


def webhook_process(*, event: dict[str, Any]) -> str:
    """Handle one verified event once; returns "processed", "duplicate" or "ignored"."""
    kind = event.get("type")
    if not isinstance(kind, str) or kind not in HANDLERS:
        logger.info("Stripe event %.80r of type %.80r ignored", event.get("id"), kind)
        return "ignored"
    expected, handler = HANDLERS[kind]
    try:
        event_id, obj = _text(event, "id"), _object(event, expected)
        with transaction.atomic():
            try:
                with transaction.atomic():
                    WebhookEvent.objects.create(stripe_id=event_id, type=kind)
            except IntegrityError:
                return "duplicate"
            handler(obj, event)
    except UnexpectedEventError as exc:
        # Stripe sent it and will send it again unless answered 2xx; nothing was stored.
        logger.warning("Stripe event %.80r (%s) ignored: %s", event.get("id"), kind, exc)
        return "ignored"
    return "processed"


def _payment_id(obj: dict[str, Any]) -> int | None:
    raw = _mapping(obj, "metadata").get("payment_id")
    return int(raw) if isinstance(raw, str) and PAYMENT_ID.fullmatch(raw) else None


def _payment_for(obj: dict[str, Any], *, session: str = "", intent: str = "") -> Payment | None:
    """Our payment for a Stripe object, locked (its entry first, as the expiry sweep does)."""
    payment_id = _payment_id(obj)
    payments = Payment.objects.filter(method=Payment.Method.STRIPE)
    found = payments.filter(pk=payment_id) if payment_id is not None else payments.none()
    if session and not found.exists():
        found = payments.filter(stripe_session_id=session)
    if intent and not found.exists():
        found = payments.filter(stripe_payment_intent=intent)
    ids = found.values("pk", "registration_id").first()
    if ids is None:
        logger.warning("Stripe object %.80r matches no payment", obj.get("id"))
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


def session_completed(session: dict[str, Any], event: dict[str, Any]) -> None:
    if session.get("payment_status") != "paid":
        return  # cards only: paid at completion; anything else is not money yet
    intent = _text(session, "payment_intent", required=False)
    payment = _payment_for(session, session=_text(session, "id"), intent=intent)
    if payment is not None:
        _settle_paid(payment, intent=intent, source=session["id"])


def _release(registration: Registration) -> None:
    """An unpaid entry gives its place back, to the waitlist."""
    now = timezone.now()
    pending = entries_of(registration).filter(status=Registration.Status.PENDING)
    if pending.update(status=Registration.Status.CANCELLED, cancelled_at=now):
        race_id = registration.race_id
        transaction.on_commit(lambda: waitlist_offer_places(race_id=race_id))


def session_expired(session: dict[str, Any], event: dict[str, Any]) -> None:
    payment = _payment_for(session, session=_text(session, "id"))
    if payment is None or payment.status not in (Payment.Status.PENDING, Payment.Status.FAILED):
        return
    payment.status = Payment.Status.EXPIRED
    payment.save(update_fields=["status"])
    _release(payment.registration)


def payment_failed(intent: dict[str, Any], event: dict[str, Any]) -> None:
    intent_id = _text(intent, "id")
    error = _mapping(intent, "last_payment_error").get("message", "")
    payment = _payment_for(intent, intent=intent_id)
    if payment is None or payment.status != Payment.Status.PENDING:
        return
    payment.status, payment.stripe_payment_intent = Payment.Status.FAILED, intent_id
    payment.save(update_fields=["status", "stripe_payment_intent"])
    logger.info("Payment %s declined: %.200s", payment.pk, error)


def charge_refunded(charge: dict[str, Any], event: dict[str, Any]) -> None:
    intent = _text(charge, "payment_intent", required=False)
    charge_id, refunded = _text(charge, "id"), _minor(charge, "amount_refunded")
    payment = _payment_for(charge, intent=intent)
    if payment is None:
        return
    total = stripe.from_minor(refunded, payment.currency)
    if total > payment.amount:
        raise UnexpectedEventError(f"{total} refunded of a payment of {payment.amount}")
    if charge.get("paid") is True and payment.status not in SETTLED:
        _settle_paid(payment, intent=intent, source=charge_id)  # the refund came first
    refund_seen_on_stripe(payment=payment, refunded_total=total)


def _account_locked(stripe_id: str) -> ConnectedAccount | None:
    return ConnectedAccount.objects.select_for_update().filter(stripe_id=stripe_id).first()


def account_updated(account: dict[str, Any], event: dict[str, Any]) -> None:
    connected = _account_locked(_text(account, "id"))
    if connected is None:
        return
    # Events may arrive out of order: the account's state now is the one to keep.
    try:
        state = stripe.account_retrieve(account_id=connected.stripe_id)
    except stripe.AccountGoneError:
        # Asking again would fail the same way for days: the account is gone.
        account_disconnect(account=connected)
        return
    for name, value in state.items():
        setattr(connected, name, value)
    connected.disconnected_at = None
    connected.save()


def account_deauthorized(application: dict[str, Any], event: dict[str, Any]) -> None:
    """The organizer disconnected their account from the platform on Stripe."""
    connected = _account_locked(_text(event, "account"))
    if connected is not None:
        account_disconnect(account=connected)


Handler = Callable[[dict[str, Any], dict[str, Any]], None]
# Event type: (the type of its data.object, the handler).
HANDLERS: dict[str, tuple[str, Handler]] = {
    "checkout.session.completed": ("checkout.session", session_completed),
    "checkout.session.expired": ("checkout.session", session_expired),
    "payment_intent.payment_failed": ("payment_intent", payment_failed),
    "charge.refunded": ("charge", charge_refunded),
    "account.updated": ("account", account_updated),
    "account.application.deauthorized": ("application", account_deauthorized),
}
