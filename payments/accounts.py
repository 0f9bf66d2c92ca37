"""Organizers' Stripe Express accounts: onboarding, their state, their balance."""

from __future__ import annotations

from events.models import Organizer
from payments import stripe
from payments.models import ConnectedAccount


def onboarding_url(*, organizer: Organizer, refresh_url: str, return_url: str) -> str:
    """Stripe's hosted onboarding for an organizer, creating its account the first time."""
    account = ConnectedAccount.objects.filter(organizer=organizer).first()
    if account is None:
        stripe_id = stripe.account_create(
            organizer_id=organizer.pk,
            country=organizer.country.code,
            email=organizer.contact_email,
            idempotency_key=stripe.key_for("account", organizer.pk, organizer.created_at),
        )
        # Two clicks at once get the same account back (same idempotency key).
        account, _ = ConnectedAccount.objects.get_or_create(
            organizer=organizer, defaults={"stripe_id": stripe_id}
        )
    return stripe.account_link_create(
        account_id=account.stripe_id, refresh_url=refresh_url, return_url=return_url
    )


def account_refresh(*, account: ConnectedAccount) -> ConnectedAccount:
    """Read the account's state from Stripe now (the athlete-facing checks rely on it)."""
    for name, value in stripe.account_retrieve(account_id=account.stripe_id).items():
        setattr(account, name, value)
    account.save()
    return account


def account_balance(*, account: ConnectedAccount) -> stripe.Balance:
    """What Stripe holds for the organizer: available for payout and still pending."""
    return stripe.balance_retrieve(account_id=account.stripe_id)
