"""What the core asks of the app that takes entries' money, and where that app plugs in.

``events`` is the core and imports no app above it, yet taking an entry starts its
payment, a released or cancelled entry's unpaid payment must expire, and organizers
choose how an event is paid. So the core declares what it needs (``PaymentProvider``)
and keeps a registry of one provider, which the ``payments`` app fills when Django
loads it (``PaymentsConfig.ready``): the way pretix's core learns its payment
providers from its plugins, without a signal, as Pace has one provider to learn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet

from events.models import Registration


@dataclass(frozen=True)
class Paid:
    """Money an athlete paid for an entry, as the core's e-mails tell it."""

    amount: Decimal
    currency: str


@dataclass(frozen=True)
class PaymentLine:
    """One payment of an entry, as its athlete reads it on the entry's pages."""

    status: str  # as athletes read it: "Due on site", "Partially refunded"
    refunded: Decimal  # money given back (0: nothing)
    currency: str


class PaymentProvider(Protocol):
    """How entries are paid: free, on site or online, whatever moves the money."""

    def payment_start(self, *, registration: Registration) -> None:
        """Record how a new entry (and its team) is paid: confirmed, or held until paid.

        Raises ``events.registration.RegistrationError`` when it cannot be paid now.
        """

    def pays_online(self, *, registration: Registration) -> bool:
        """Its athlete pays on the site: the entry is held until paid, not until its
        e-mail address is confirmed."""

    def pay_url(self, *, registration: Registration) -> str:
        """Where the athlete pays an entry that awaits its online payment (a path here)."""

    def payment_expire(self, *, registration: Registration) -> None:
        """The entry's hold ran out, or it was cancelled: its pending payments never complete."""

    def paid(self, *, registration: Registration) -> Paid | None:
        """What was last paid for the entry (None: nothing was charged)."""

    def payment_lines(
        self, *, registrations: Sequence[Registration]
    ) -> dict[int, list[PaymentLine]]:
        """Each entry's payments, newest first, by entry id (an empty list when it has none),
        read in one query however many entries a page lists."""

    def method_problem(self, *, organizer_id: int, method: str) -> str:
        """Why an organizer's event cannot take entries paid by ``method`` now ("" when it can)."""

    def method_label(self, method: str) -> str:
        """How organizers read an entry's ``payment_method``."""

    def with_refunded(self, registrations: QuerySet[Registration]) -> QuerySet[Registration]:
        """The entries, each annotated with ``refunded``: the money given back (None: nothing)."""


_registered: dict[str, PaymentProvider] = {}


def register(provider: PaymentProvider) -> None:
    """Make ``provider`` the one the core calls; a second, different one is a wiring error."""
    current = _registered.get("provider")
    if current is not None and type(current) is not type(provider):
        raise ImproperlyConfigured(f"A payment provider is already registered: {current!r}")
    _registered["provider"] = provider


def get() -> PaymentProvider:
    """The registered provider (``AppConfig.ready`` has run by the time entries are taken)."""
    try:
        return _registered["provider"]
    except KeyError:
        raise ImproperlyConfigured(
            "No payment provider is registered: is 'payments' in INSTALLED_APPS?"
        ) from None
