"""Starting and settling the payment of an entry, whatever the method."""

from __future__ import annotations

from django.utils import timezone

from events.models import PaymentMethod, Registration
from payments.models import Payment


def payment_start(*, registration: Registration) -> Payment:
    """Record how an entry is paid and confirm it when no online payment is pending."""
    now = timezone.now()
    if registration.price == 0:
        method, status, paid_at = Payment.Method.FREE, Payment.Status.PAID, now
    elif registration.race.event.payment_method == PaymentMethod.ON_SITE:
        method, status, paid_at = Payment.Method.ON_SITE, Payment.Status.DUE_ON_SITE, None
    else:  # a method added to PaymentMethod without a provider here is a programming error
        raise ValueError(f"no provider for {registration.race.event.payment_method!r}")
    registration.payment_method = method
    registration.status = Registration.Status.CONFIRMED
    registration.save(update_fields=["payment_method", "status"])
    return Payment.objects.create(
        registration=registration,
        method=method,
        status=status,
        amount=registration.price,
        currency=registration.currency,
        paid_at=paid_at,
    )


def payment_settle_on_site(*, payment: Payment) -> None:
    """The organizer took the money at the desk."""
    if payment.status == Payment.Status.DUE_ON_SITE:
        payment.status, payment.paid_at = Payment.Status.PAID, timezone.now()
        payment.save(update_fields=["status", "paid_at"])
