"""Starting and settling the payment of an entry, whatever the method.

Free and pay-on-site entries are confirmed at once. A Stripe entry stays
pending, holding its place for ``PAYMENT_HOLD_MINUTES``, until Stripe's webhook
says it was paid; the Checkout session is created after the entry's
transaction commits (no network call while the race row is locked).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

from events.models import PaymentMethod, Registration
from events.pricing import platform_fee
from payments.models import MoneyLog, Payment


def payment_start(*, registration: Registration) -> Payment:
    """Record how an entry is paid; confirm it unless an online payment is still due."""
    now = timezone.now()
    method = registration.event.payment_method
    payment = Payment(registration=registration, amount=registration.price)
    payment.currency = registration.currency
    if registration.price == 0:
        payment.method, payment.status, payment.paid_at = Payment.Method.FREE, "paid", now
    elif method == PaymentMethod.ON_SITE:
        payment.method, payment.status = Payment.Method.ON_SITE, Payment.Status.DUE_ON_SITE
    elif method == PaymentMethod.STRIPE:
        payment.method, payment.status = Payment.Method.STRIPE, Payment.Status.PENDING
        payment.platform_fee = platform_fee(registration.price)
    else:  # a PaymentMethod without a provider here is a programming error
        raise ValueError(f"no provider for payment method {method!r}")
    registration.payment_method = payment.method
    if payment.status == Payment.Status.PENDING:
        registration.status = Registration.Status.PENDING
        registration.hold_expires_at = now + dt.timedelta(minutes=settings.PAYMENT_HOLD_MINUTES)
    else:
        registration.status = Registration.Status.CONFIRMED
    registration.save(update_fields=["payment_method", "status", "hold_expires_at"])
    payment.save()
    return payment


def money_log(
    *, payment: Payment, action: str, amount: object, actor: object = None, **detail: object
) -> MoneyLog:
    """Append one line to the organizer's money audit log."""
    return MoneyLog.objects.create(
        organizer_id=payment.registration.event.organizer_id,
        payment=payment,
        action=action,
        amount=amount,
        currency=payment.currency,
        actor=actor,
        detail=detail,
    )


def payment_settle_on_site(*, payment: Payment, actor: object) -> bool:
    """The organizer took the money at the desk; False when there was nothing due."""
    if payment.status != Payment.Status.DUE_ON_SITE:
        return False
    payment.status, payment.paid_at = Payment.Status.PAID, timezone.now()
    payment.save(update_fields=["status", "paid_at"])
    money_log(payment=payment, action="paid_on_site", amount=payment.amount, actor=actor)
    return True


def payment_expire(*, registration: Registration) -> None:
    """The hold of an unpaid entry ran out: its pending payments will never complete."""
    registration.payments.filter(status=Payment.Status.PENDING).update(
        status=Payment.Status.EXPIRED
    )
