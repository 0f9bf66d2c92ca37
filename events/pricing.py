"""What an entry costs: the price tier in force, a discount code, the platform's fee.

Computed on the server only; nothing a form sends changes a price.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from events.models import DiscountCode, Race, Registration

CENT = Decimal("0.01")


class DiscountError(ValueError):
    """A discount code that cannot be used; the message is shown to the athlete."""


@dataclass(frozen=True)
class Quote:
    list_price: Decimal
    discount: Decimal
    price: Decimal
    tier: str
    code: DiscountCode | None = None


def money(value: Decimal | int | float | str) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def list_price(*, race: Race, at: dt.datetime | None = None) -> tuple[Decimal, str]:
    """The price tier in force at ``at`` (the earliest one not yet over), else the entry fee."""
    at = at or timezone.now()
    tier = race.price_tiers.filter(until__gt=at).order_by("until").first()
    if tier is None:
        return money(race.entry_fee), "Standard"
    return money(tier.price), tier.name


def find_discount(*, race: Race, code: str, lock: bool = False) -> DiscountCode:
    """The usable discount code for this race, or ``DiscountError`` saying why not."""
    qs = DiscountCode.objects.filter(
        Q(race=race) | Q(race__isnull=True), event_id=race.event_id, code__iexact=code.strip()
    )
    if lock:
        qs = qs.select_for_update()
    found = qs.first()
    if found is None or not found.active:
        raise DiscountError("This discount code is not valid for this race.")
    if found.valid_until and found.valid_until <= timezone.now():
        raise DiscountError("This discount code has expired.")
    if found.max_uses is not None:
        used = found.uses.exclude(status=Registration.Status.CANCELLED).count()
        if used >= found.max_uses:
            raise DiscountError("This discount code has been used up.")
    return found


def apply_discount(price: Decimal, code: DiscountCode) -> Decimal:
    if code.kind == DiscountCode.Kind.PERCENT:
        off = price * min(code.amount, Decimal(100)) / 100
    else:
        off = code.amount
    return money(min(price, max(Decimal(0), off)))


def quote(*, race: Race, code: str = "", lock: bool = False) -> Quote:
    """The full price of an entry now, with the discount of ``code`` when given."""
    price, tier = list_price(race=race)
    if not code.strip():
        return Quote(list_price=price, discount=money(0), price=price, tier=tier)
    found = find_discount(race=race, code=code, lock=lock)
    off = apply_discount(price, found)
    return Quote(list_price=price, discount=off, price=price - off, tier=tier, code=found)


def platform_fee(amount: Decimal) -> Decimal:
    """The platform's share of an online payment: a percentage plus the processing fee."""
    if amount <= 0:
        return money(0)
    share = amount * Decimal(str(settings.PLATFORM_FEE_PERCENT)) / 100
    processing = amount * Decimal(str(settings.PAYMENT_FEE_PERCENT)) / 100
    return money(min(amount, share + processing + Decimal(str(settings.PAYMENT_FEE_FIXED))))
