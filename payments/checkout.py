"""Starting and settling the payment of an entry, whatever the method.

Free and pay-on-site entries are confirmed at once. A Stripe entry stays
pending, holding its place for ``PAYMENT_HOLD_MINUTES``, until Stripe's webhook
says it was paid; the Checkout session is created after the entry's
transaction commits (no network call while the race row is locked), when the
athlete is sent to pay, and it expires with the hold.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import OuterRef, QuerySet, Subquery, Sum
from django.urls import reverse
from django.utils import timezone

from events.models import Registration
from events.payment_providers import Paid, PaymentLine
from events.registration import RegistrationError, entries_of
from payments import stripe
from payments.models import ConnectedAccount, MoneyLog, Payment
from payments.providers import method_problem, provider_for
from payments.selectors import payment_lines


class CheckoutUnavailableError(Exception):
    """Card payment cannot start now; the message is shown to the athlete."""


def payment_start(*, registration: Registration) -> Payment:
    """Record how an entry is paid; confirm it unless an online payment is still due."""
    provider = provider_for(registration)
    if not provider.available(organizer_id=registration.event.organizer_id):
        raise RegistrationError(provider.unavailable_message)
    payment = Payment(registration=registration, method=provider.method, amount=registration.price)
    payment.currency = registration.currency
    provider.start(payment=payment)
    payment.save()
    registration.payment_method = payment.method
    if payment.status == Payment.Status.PENDING:
        registration.status = Registration.Status.PENDING
        registration.hold_expires_at = timezone.now() + dt.timedelta(
            minutes=settings.PAYMENT_HOLD_MINUTES
        )
    else:
        registration.status = Registration.Status.CONFIRMED
    entries_of(registration).update(
        payment_method=registration.payment_method,
        status=registration.status,
        hold_expires_at=registration.hold_expires_at,
    )
    return payment


def money_log(
    *, payment: Payment, action: str, amount: Decimal, actor: Any = None, **detail: Any
) -> MoneyLog:
    """Append one line to the organizer's money audit log (money out is negative)."""
    return MoneyLog.objects.create(
        organizer_id=payment.registration.event.organizer_id,
        payment=payment,
        action=action,
        amount=amount,
        currency=payment.currency,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        detail=detail,
    )


def payment_settle_on_site(*, payment: Payment, actor: Any) -> bool:
    """The organizer took the money at the desk; False when there was nothing due."""
    now = timezone.now()
    updated = Payment.objects.filter(pk=payment.pk, status=Payment.Status.DUE_ON_SITE).update(
        status=Payment.Status.PAID, paid_at=now
    )
    if not updated:
        return False
    payment.status, payment.paid_at = Payment.Status.PAID, now
    money_log(payment=payment, action="paid_on_site", amount=payment.amount, actor=actor)
    return True


def payment_expire(*, registration: Registration) -> None:
    """The hold of an unpaid entry ran out: its pending payments will never complete."""
    registration.payments.filter(status=Payment.Status.PENDING).update(
        status=Payment.Status.EXPIRED
    )


def _session_expiry(registration: Registration) -> dt.datetime:
    """The hold's end; a hold too short for Stripe's minimum is stretched to it, once."""
    now = timezone.now()
    hold = registration.hold_expires_at
    earliest = now + stripe.MIN_SESSION_LIFETIME
    if hold is None or hold < earliest:
        entries_of(registration).filter(
            status=Registration.Status.PENDING, hold_expires_at=hold
        ).update(hold_expires_at=earliest)
        registration.refresh_from_db(fields=["hold_expires_at"])
    return min(registration.hold_expires_at or earliest, now + stripe.MAX_SESSION_LIFETIME)


def checkout_url(*, payment: Payment) -> str:
    """Stripe Checkout's page for a pending payment, created on first use, then reused."""
    if payment.checkout_url:
        return payment.checkout_url
    registration, event = payment.registration, payment.registration.event
    account = ConnectedAccount.objects.filter(
        organizer_id=event.organizer_id, charges_enabled=True
    ).first()
    if not stripe.available() or account is None:
        raise CheckoutUnavailableError("The organizer cannot take card payments at the moment.")
    fee = f"{payment.platform_fee:.2f} {payment.currency}"
    session = stripe.checkout_session_create(
        payment_id=payment.pk,
        registration_id=registration.pk,
        name=f"{event.name}: {registration.race.name}",
        description=f"Entry of {registration.name}. Includes a service fee of {fee}.",
        email=registration.email,
        amount=payment.amount,
        fee=payment.platform_fee,
        currency=payment.currency,
        destination=account.stripe_id,
        expires_at=_session_expiry(registration),
        return_url=settings.SITE_URL + reverse("events:entry", args=[registration.manage_token]),
        idempotency_key=stripe.key_for("checkout", payment.pk, payment.created_at),
    )
    Payment.objects.filter(pk=payment.pk, stripe_session_id__isnull=True).update(
        stripe_session_id=session.id, checkout_url=session.url
    )
    return session.url


METHOD_LABELS = dict(Payment.Method.choices)


class CheckoutProvider:
    """The core's ``events.payment_providers.PaymentProvider``, registered by ``PaymentsConfig``."""

    def payment_start(self, *, registration: Registration) -> None:
        payment_start(registration=registration)

    def pays_online(self, *, registration: Registration) -> bool:
        return provider_for(registration).method == Payment.Method.STRIPE

    def pay_url(self, *, registration: Registration) -> str:
        return reverse("payments:checkout", args=[registration.manage_token])

    def payment_expire(self, *, registration: Registration) -> None:
        payment_expire(registration=registration)

    def paid(self, *, registration: Registration) -> Paid | None:
        payment = registration.payments.filter(paid_at__isnull=False).first()
        return None if payment is None else Paid(amount=payment.amount, currency=payment.currency)

    def payment_lines(
        self, *, registrations: Sequence[Registration]
    ) -> dict[int, list[PaymentLine]]:
        return payment_lines(registration_ids=[r.pk for r in registrations])

    def method_problem(self, *, organizer_id: int, method: str) -> str:
        return method_problem(organizer_id=organizer_id, method=method)

    def method_label(self, method: str) -> str:
        return METHOD_LABELS.get(method, method)

    def with_refunded(self, registrations: QuerySet[Registration]) -> QuerySet[Registration]:
        refunds = (
            Payment.objects.filter(registration=OuterRef("pk"), refunded_amount__gt=0)
            .values("registration")
            .annotate(total=Sum("refunded_amount"))
            .values("total")
        )
        return registrations.annotate(refunded=Subquery(refunds))
