"""Organizers' Stripe Express accounts: onboarding, their state, their balance."""

from __future__ import annotations

import logging
from typing import cast

from django.utils import timezone
from django_countries.fields import Country

from events.models import Organizer
from payments import stripe
from payments.models import ConnectedAccount

logger = logging.getLogger(__name__)


def onboarding_url(*, organizer: Organizer, refresh_url: str, return_url: str) -> str:
    """Stripe's hosted onboarding for an organizer, creating its account the first time.

    An account Stripe no longer knows is replaced by a new one.
    """
    account = ConnectedAccount.objects.filter(organizer=organizer).first()
    if account is None or account.disconnected_at is not None:
        # A new key after a disconnection, or Stripe would answer with the gone account.
        gone_at = account.disconnected_at if account else None
        more = [f"{gone_at.timestamp():.0f}"] if gone_at else []
        stripe_id = stripe.account_create(
            organizer_id=organizer.pk,
            country=cast(Country, organizer.country).code,  # a Country: the stubs say str
            email=organizer.contact_email,
            idempotency_key=stripe.key_for("account", organizer.pk, organizer.created_at, *more),
        )
        account = _account_replace(organizer=organizer, account=account, stripe_id=stripe_id)
    return stripe.account_link_create(
        account_id=account.stripe_id, refresh_url=refresh_url, return_url=return_url
    )


def _account_replace(
    *, organizer: Organizer, account: ConnectedAccount | None, stripe_id: str
) -> ConnectedAccount:
    if account is None:
        # Two clicks at once get the same account back (same idempotency key).
        account, _ = ConnectedAccount.objects.get_or_create(
            organizer=organizer, defaults={"stripe_id": stripe_id}
        )
        return account
    account.stripe_id, account.disconnected_at = stripe_id, None
    account.charges_enabled = account.payouts_enabled = account.details_submitted = False
    account.save()
    return account


def account_disconnect(*, account: ConnectedAccount) -> ConnectedAccount:
    """Stripe no longer knows this account: it takes no more card payments."""
    if account.disconnected_at is None:
        logger.warning("Stripe account %s of %s is gone", account.stripe_id, account.organizer_id)
        account.disconnected_at = timezone.now()
    account.charges_enabled = account.payouts_enabled = False
    account.save()
    return account


def account_refresh(*, account: ConnectedAccount) -> ConnectedAccount:
    """Read the account's state from Stripe now (the athlete-facing checks rely on it).

    An account Stripe no longer knows is marked disconnected rather than failing
    every time it is read again.
    """
    try:
        state = stripe.account_retrieve(account_id=account.stripe_id)
    except stripe.AccountGoneError:
        return account_disconnect(account=account)
    for name, value in state.items():
        setattr(account, name, value)
    account.disconnected_at = None
    account.save()
    return account


def account_balance(*, account: ConnectedAccount) -> stripe.Balance:
    """What Stripe holds for the organizer: available for payout and still pending."""
    return stripe.balance_retrieve(account_id=account.stripe_id)
