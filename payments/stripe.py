"""The one place that talks to Stripe: Connect accounts, Checkout, refunds, balances, webhooks.

Every call goes through one ``stripe.StripeClient`` with a timeout and a few
network retries; every create call carries an idempotency key derived from our
ids, so a retry never charges, refunds or onboards twice. Errors come out as
one ``PaymentProviderError`` that says whether trying again can help. Tests put
a fake ``stripe.HTTPClient`` in ``http_client``; nothing else is faked.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import stripe
from django.conf import settings

logger = logging.getLogger(__name__)

# The seam for tests: an HTTP client answering like Stripe's API. None: the real network.
http_client: stripe.HTTPClient | None = None

# Currencies Stripe counts in whole units (no cents).
ZERO_DECIMAL = frozenset((
    "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV",
    "XAF", "XOF", "XPF",
))  # fmt: skip
# Stripe refuses Checkout sessions that expire sooner than this after creation.
MIN_SESSION_LIFETIME = dt.timedelta(minutes=31)
MAX_SESSION_LIFETIME = dt.timedelta(hours=23)


class PaymentProviderError(Exception):
    """Stripe refused or could not be reached; ``retryable`` says whether a retry can help."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class AccountGoneError(PaymentProviderError):
    """Stripe no longer knows the connected account (deleted, or it left the platform)."""

    def __init__(self, account_id: str) -> None:
        super().__init__(f"Stripe no longer knows the account {account_id}.", retryable=False)
        self.account_id = account_id


# What Stripe answers about an account that is gone or no longer connected to the platform:
# 403 ``account_invalid`` ("does not have access to account ... or that account does not
# exist. Application access may have been revoked."), or 404 ``resource_missing``.
class WebhookSignatureError(ValueError):
    """A webhook body that is not from Stripe, too old, or not a Stripe event."""


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str


@dataclass(frozen=True)
class Balance:
    """A connected account's balance per currency: ``{currency: amount}``."""

    available: dict[str, Decimal]
    pending: dict[str, Decimal]

    def rows(self) -> list[tuple[str, Decimal, Decimal]]:
        """``(currency, available, pending)`` for every currency held."""
        zero = Decimal(0)
        currencies = sorted({*self.available, *self.pending})
        return [(c, self.available.get(c, zero), self.pending.get(c, zero)) for c in currencies]


def available() -> bool:
    """Whether this platform has Stripe keys at all."""
    return bool(settings.STRIPE_SECRET_KEY)


def to_minor(amount: Decimal, currency: str) -> int:
    """An amount in the currency's smallest unit, as Stripe counts it."""
    factor = 1 if currency.upper() in ZERO_DECIMAL else 100
    return int((Decimal(amount) * factor).to_integral_value())


def from_minor(amount: int, currency: str) -> Decimal:
    factor = 1 if currency.upper() in ZERO_DECIMAL else 100
    return (Decimal(amount) / factor).quantize(Decimal("0.01"))


def key_for(kind: str, pk: int, created: dt.datetime, *more: str) -> str:
    """An idempotency key from our object's id and creation time.

    Stripe keeps keys for a day: the time keeps a database reset to ids starting
    at 1 again from colliding with yesterday's requests.
    """
    return "-".join([kind, str(pk), f"{created.timestamp():.6f}", *more])


def _client() -> stripe.StripeClient:
    if not available():
        raise PaymentProviderError("Stripe is not configured.", retryable=False)
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        http_client=http_client or stripe.RequestsClient(timeout=settings.STRIPE_TIMEOUT_SECONDS),
        max_network_retries=settings.STRIPE_MAX_NETWORK_RETRIES,
    )


def _call(what: str, method: Any, params: dict[str, Any], options: dict[str, Any]) -> Any:
    """Run one API call, turning Stripe's many errors into ``PaymentProviderError``."""
    try:
        return method(params=params, options=options)
    except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as exc:
        logger.warning("Stripe %s failed, can be retried: %s", what, exc)
        message = f"Stripe could not be reached ({what})."
        raise PaymentProviderError(message, retryable=True) from exc
    except stripe.StripeError as exc:
        logger.error("Stripe %s refused: %s", what, exc)
        message = f"Stripe refused the {what}: {exc.user_message or exc or 'no reason given'}"
        raise PaymentProviderError(message, retryable=False) from exc


def account_create(*, organizer_id: int, country: str, email: str, idempotency_key: str) -> str:
    """A new Express account for an organizer; returns its id (``acct_...``)."""
    params = {
        "type": "express",
        "country": country,
        "email": email,
        "capabilities": {"card_payments": {"requested": True}, "transfers": {"requested": True}},
        "metadata": {"organizer_id": str(organizer_id)},
    }
    options = {"idempotency_key": idempotency_key}
    return str(_call("account creation", _client().v1.accounts.create, params, options).id)


def _account_gone(error: BaseException | None) -> bool:
    """Stripe says this account is deleted or left the platform, not that Pace's key is short.

    A restricted key missing a permission also answers 403 (without ``account_invalid``):
    taking that for "gone" would disconnect every organizer at once.
    """
    if not isinstance(error, stripe.StripeError):
        return False
    # stripe-python keeps a 403's code only in the parsed error object, not on the exception.
    detail = error.error
    code = error.code or (detail.code if detail is not None else None)
    param = detail.param if detail is not None else None
    return code == "account_invalid" or (code == "resource_missing" and param == "account")


def account_retrieve(*, account_id: str) -> dict[str, bool]:
    """The onboarding state of a connected account, fresh from Stripe.

    Raises ``AccountGoneError`` when Stripe no longer knows the account: asking again
    will not bring it back.
    """
    retrieve = functools.partial(_client().v1.accounts.retrieve, account_id)
    try:
        account = _call("account lookup", retrieve, {}, {})
    except PaymentProviderError as exc:
        if _account_gone(exc.__cause__):
            raise AccountGoneError(account_id) from exc
        raise
    return {
        "charges_enabled": bool(account.charges_enabled),
        "payouts_enabled": bool(account.payouts_enabled),
        "details_submitted": bool(account.details_submitted),
    }


def account_link_create(*, account_id: str, refresh_url: str, return_url: str) -> str:
    """A one-time link to Stripe's hosted onboarding; returns its URL."""
    params = {
        "account": account_id,
        "refresh_url": refresh_url,
        "return_url": return_url,
        "type": "account_onboarding",
    }
    # Links are single-use: a fresh key per click, the key still guards the client's retries.
    options = {"idempotency_key": f"account-link-{account_id}-{secrets.token_hex(8)}"}
    return str(_call("onboarding link", _client().v1.account_links.create, params, options).url)


def checkout_session_create(
    *,
    payment_id: int,
    registration_id: int,
    name: str,
    description: str,
    email: str,
    amount: Decimal,
    fee: Decimal,
    currency: str,
    destination: str,
    expires_at: dt.datetime,
    return_url: str,
    idempotency_key: str,
) -> CheckoutSession:
    """A Checkout session charging ``amount`` for the organizer's account, minus our ``fee``."""
    metadata = {"payment_id": str(payment_id), "registration_id": str(registration_id)}
    params = {
        "mode": "payment",
        "payment_method_types": ["card"],
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": currency.lower(),
                    "unit_amount": to_minor(amount, currency),
                    "product_data": {"name": name, "description": description},
                },
            }
        ],
        "payment_intent_data": {
            "application_fee_amount": to_minor(fee, currency),
            "transfer_data": {"destination": destination},
            "metadata": metadata,
        },
        "customer_email": email,
        "client_reference_id": str(registration_id),
        "metadata": metadata,
        "expires_at": int(expires_at.timestamp()),
        "success_url": return_url,
        "cancel_url": return_url,
    }
    options = {"idempotency_key": idempotency_key}
    session = _call("checkout", _client().v1.checkout.sessions.create, params, options)
    return CheckoutSession(id=str(session.id), url=str(session.url))


def refund_create(
    *,
    payment_intent: str,
    amount: Decimal,
    currency: str,
    reverse_transfer: bool,
    refund_application_fee: bool,
    idempotency_key: str,
    metadata: dict[str, str],
) -> str:
    """Refund part or all of a destination charge; returns the refund's id (``re_...``)."""
    params = {
        "payment_intent": payment_intent,
        "amount": to_minor(amount, currency),
        "reverse_transfer": reverse_transfer,
        "refund_application_fee": refund_application_fee,
        "metadata": metadata,
    }
    options = {"idempotency_key": idempotency_key}
    return str(_call("refund", _client().v1.refunds.create, params, options).id)


def balance_retrieve(*, account_id: str) -> Balance:
    """A connected account's balance, available and on its way, per currency."""
    balance = _call(
        "balance lookup", _client().v1.balance.retrieve, {}, {"stripe_account": account_id}
    )
    return Balance(available=_amounts(balance.available), pending=_amounts(balance.pending))


def _amounts(funds: list[Any]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for fund in funds:
        currency = str(fund.currency).upper()
        totals[currency] = totals.get(currency, Decimal(0)) + from_minor(fund.amount, currency)
    return totals


def webhook_event(*, payload: bytes, signature: str) -> dict[str, Any]:
    """Verify a webhook's ``Stripe-Signature`` and return its JSON object as plain data.

    Only the signature and "a JSON object" are checked here: a signed body of any other
    shape (a thin v2 event notification, an object a handler does not expect) came from
    Stripe all the same, and ``webhooks.webhook_process`` answers it (ignored), or Stripe
    would deliver it again for days.
    """
    for secret in settings.STRIPE_WEBHOOK_SECRET:
        try:
            stripe.WebhookSignature.verify_header(payload, signature, secret, tolerance=300)
        except stripe.SignatureVerificationError:
            continue
        except ValueError as exc:  # a body that is not UTF-8
            raise WebhookSignatureError(f"not a Stripe event: {exc}") from exc
        try:
            data = json.loads(payload)
        except (ValueError, RecursionError) as exc:
            raise WebhookSignatureError(f"not a Stripe event: {exc}") from exc
        if not isinstance(data, dict):
            raise WebhookSignatureError("not a Stripe event: not a JSON object")
        return data
    raise WebhookSignatureError("no valid signature for this payload")
