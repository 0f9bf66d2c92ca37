"""Giving money back: refunds from the back office, refunds Stripe tells us about.

A Stripe refund is asked for while the payment row is locked, inside the
transaction that records it: if Stripe refuses, nothing is recorded; if Stripe
refunded but our commit failed, the retry (same idempotency key) gets the same
refund back and the ``charge.refunded`` webhook records it anyway. Every
refund writes the money log with who did it and why, and e-mails the athlete
after commit.
"""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Sum

from events.pricing import money
from payments.checkout import money_log
from payments.models import Payment, Refund
from payments.providers import PROVIDERS

REFUNDABLE = (Payment.Status.PAID, Payment.Status.PARTIALLY_REFUNDED)


class RefundError(ValueError):
    """A refund that cannot be made; the message is shown to the organizer."""


def refundable(payment: Payment) -> Decimal:
    """What can still be given back on a payment."""
    if payment.status not in REFUNDABLE:
        return money(0)
    return money(payment.amount - payment.refunded_amount)


def _check(payment: Payment, amount: Decimal, reason: str) -> None:
    left = refundable(payment)
    if not left:
        raise RefundError("Nothing is left to refund on this payment.")
    if amount <= 0:
        raise RefundError("Refund an amount above zero.")
    if amount > left:
        raise RefundError(f"At most {left} {payment.currency} can be refunded.")
    if not reason.strip():
        raise RefundError("Say why the money is refunded.")


def _add_refunded(payment: Payment, amount: Decimal) -> None:
    payment.refunded_amount = money(payment.refunded_amount + amount)
    full = payment.refunded_amount >= payment.amount
    payment.status = Payment.Status.REFUNDED if full else Payment.Status.PARTIALLY_REFUNDED
    payment.save(update_fields=["refunded_amount", "status"])


def _fee_refunded(payment: Payment, amount: Decimal) -> Decimal:
    """The platform fee Stripe gives back with a refund: in proportion, all of it at the end."""
    back = payment.log.filter(action="platform_fee_refund").aggregate(total=Sum("amount"))
    left = payment.platform_fee + (back["total"] or 0)
    if payment.refunded_amount >= payment.amount:
        return money(left)
    return money(min(left, payment.platform_fee * amount / payment.amount))


@transaction.atomic
def refund_create(
    *,
    payment: Payment,
    amount: Decimal,
    reason: str,
    actor: Any,
    reverse_transfer: bool = True,
    refund_application_fee: bool = True,
    key: str = "",
) -> Refund:
    """Give back part or all of a payment; ``key`` makes a repeated request a no-op."""
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    amount = money(amount)
    _check(payment, amount, reason)
    online = payment.method == Payment.Method.STRIPE
    external_id = PROVIDERS[payment.method].refund(
        payment=payment,
        amount=amount,
        reverse_transfer=reverse_transfer,
        refund_application_fee=refund_application_fee,
        key=key or secrets.token_hex(8),
    )
    already = Refund.objects.filter(stripe_refund_id=external_id).first() if external_id else None
    if already is not None:
        return already
    refund = Refund.objects.create(
        payment=payment, amount=amount, reason=reason.strip(), stripe_refund_id=external_id,
        reverse_transfer=online and reverse_transfer,
        refund_application_fee=online and refund_application_fee, created_by=actor,
    )  # fmt: skip
    _add_refunded(payment, amount)
    money_log(
        payment=payment, action="refund", amount=-amount, actor=actor, reason=refund.reason,
        refund=refund.pk, stripe_refund=external_id, reverse_transfer=refund.reverse_transfer,
        refund_application_fee=refund.refund_application_fee, by_hand=not online,
    )  # fmt: skip
    if refund.refund_application_fee and payment.platform_fee:
        fee = _fee_refunded(payment, amount)
        money_log(
            payment=payment,
            action="platform_fee_refund",
            amount=-fee,
            actor=actor,
            refund=refund.pk,
        )
    _tell_athlete(refund)
    return refund


def _tell_athlete(refund: Refund) -> None:
    """After commit: the athlete learns how much comes back (not when nothing was stored)."""
    from payments.tasks import send_refund_notice  # tasks import this module

    refund_id = refund.pk
    transaction.on_commit(lambda: send_refund_notice.delay(refund_id), robust=True)


def refund_seen_on_stripe(*, payment: Payment, refunded_total: Decimal) -> Refund | None:
    """Stripe says ``refunded_total`` was refunded: record what we have not (a Dashboard refund).

    The caller holds the payment row locked. Amounts only grow, so events in any order agree.
    """
    missing = money(refunded_total - payment.refunded_amount)
    if missing <= 0 or payment.status not in REFUNDABLE:
        return None
    reason = "Refunded on Stripe, outside Pace"
    refund = Refund.objects.create(
        payment=payment, amount=missing, reason=reason, reverse_transfer=False,
        refund_application_fee=False, created_by=None,
    )  # fmt: skip
    _add_refunded(payment, missing)
    money_log(
        payment=payment, action="refund", amount=-missing, reason=reason, refund=refund.pk,
        source="stripe",
    )  # fmt: skip
    _tell_athlete(refund)
    return refund


def refund_unplaced(*, payment_id: int) -> Refund | None:
    """Give back a payment that arrived when its entry had no place any more; runs once."""
    payment = Payment.objects.filter(pk=payment_id).first()
    if payment is None or not refundable(payment):
        return None
    return refund_create(
        payment=payment,
        amount=refundable(payment),
        reason="Paid after the entry was cancelled and its place was gone",
        actor=None,
        key="unplaced",
    )
