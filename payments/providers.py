"""The three ways an entry is paid (free, on site, Stripe Connect) behind one interface.

A provider says whether it can take an organizer's payments, sets a new
payment's status and fee, and gives money back. Free and on-site payments never
leave the platform: their refunds are records of money returned by hand.
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar, Protocol

from django.utils import timezone

from events.models import PaymentMethod, Registration
from events.pricing import platform_fee
from payments import stripe
from payments.models import ConnectedAccount, Payment


class Provider(Protocol):
    method: ClassVar[str]
    unavailable_message: ClassVar[str]  # to athletes
    setup_hint: ClassVar[str]  # to organizers

    def available(self, *, organizer_id: int) -> bool: ...

    def start(self, *, payment: Payment) -> None: ...

    def refund(
        self,
        *,
        payment: Payment,
        amount: Decimal,
        reverse_transfer: bool,
        refund_application_fee: bool,
        key: str,
    ) -> str: ...


class _Offline:
    """Money that changes hands outside the platform: refunds only record it."""

    unavailable_message: ClassVar[str] = ""
    setup_hint: ClassVar[str] = ""

    def available(self, *, organizer_id: int) -> bool:
        return True

    def refund(
        self,
        *,
        payment: Payment,
        amount: Decimal,
        reverse_transfer: bool,
        refund_application_fee: bool,
        key: str,
    ) -> str:
        return ""


class FreeProvider(_Offline):
    method: ClassVar[str] = Payment.Method.FREE

    def start(self, *, payment: Payment) -> None:
        payment.status, payment.paid_at = Payment.Status.PAID, timezone.now()


class OnSiteProvider(_Offline):
    method: ClassVar[str] = Payment.Method.ON_SITE

    def start(self, *, payment: Payment) -> None:
        payment.status = Payment.Status.DUE_ON_SITE


class StripeProvider:
    """Stripe Checkout, paid to the organizer's connected account minus the platform fee."""

    method: ClassVar[str] = Payment.Method.STRIPE
    unavailable_message: ClassVar[str] = "Card payments are not available for this event yet."
    setup_hint: ClassVar[str] = (
        "Card payments need a Stripe account that can take charges: "
        "onboard on Stripe first (Payments, Connected accounts)."
    )

    def available(self, *, organizer_id: int) -> bool:
        if not stripe.available():
            return False
        accounts = ConnectedAccount.objects.filter(organizer_id=organizer_id, charges_enabled=True)
        return accounts.exists()

    def start(self, *, payment: Payment) -> None:
        # Pending until Stripe's webhook says it was paid; Checkout starts after commit.
        payment.status = Payment.Status.PENDING
        payment.platform_fee = platform_fee(payment.amount)

    def refund(
        self,
        *,
        payment: Payment,
        amount: Decimal,
        reverse_transfer: bool,
        refund_application_fee: bool,
        key: str,
    ) -> str:
        return stripe.refund_create(
            payment_intent=payment.stripe_payment_intent,
            amount=amount,
            currency=payment.currency,
            reverse_transfer=reverse_transfer,
            refund_application_fee=refund_application_fee,
            idempotency_key=stripe.key_for("refund", payment.pk, payment.created_at, key),
            metadata={"payment_id": str(payment.pk)},
        )


PROVIDERS: dict[str, Provider] = {
    Payment.Method.FREE: FreeProvider(),
    Payment.Method.ON_SITE: OnSiteProvider(),
    Payment.Method.STRIPE: StripeProvider(),
}
# How an event's paid entries are paid -> the provider taking them.
BY_EVENT_METHOD: dict[str, str] = {
    PaymentMethod.ON_SITE: Payment.Method.ON_SITE,
    PaymentMethod.STRIPE: Payment.Method.STRIPE,
}


def method_problem(*, organizer_id: int, method: str) -> str:
    """Why an organizer's event cannot take entries paid by ``method`` now ("" when it can)."""
    if method not in BY_EVENT_METHOD:
        return f"Unknown payment method {method!r}."
    provider = PROVIDERS[BY_EVENT_METHOD[method]]
    return "" if provider.available(organizer_id=organizer_id) else provider.setup_hint


def provider_for(registration: Registration) -> Provider:
    """Free entries need no payment; paid ones use the provider the organizer chose."""
    if registration.price == 0:
        return PROVIDERS[Payment.Method.FREE]
    method = registration.event.payment_method
    if method not in BY_EVENT_METHOD:  # a PaymentMethod without a provider is a programming error
        raise ValueError(f"no provider for payment method {method!r}")
    return PROVIDERS[BY_EVENT_METHOD[method]]
