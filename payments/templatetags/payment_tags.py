"""Template helpers for showing money to athletes."""

from __future__ import annotations

from decimal import Decimal

from django import template

from events.pricing import platform_fee as fee_of

register = template.Library()


@register.filter
def platform_fee(price: Decimal | int | str) -> Decimal:
    """The platform's fee included in an online price (shown before the athlete pays)."""
    return fee_of(Decimal(str(price or 0)))
