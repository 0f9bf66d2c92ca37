"""Reads of money for the back office: fees and totals per organizer and currency."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, Sum

from events.access import scope_to_user
from events.pricing import money
from payments.models import MoneyLog

FEE_ACTIONS = ("platform_fee", "platform_fee_refund")


@dataclass(frozen=True)
class FeeRow:
    organizer: str
    currency: str
    card_payments: int
    paid_by_card: Decimal
    paid_on_site: Decimal
    refunded: Decimal
    fees: Decimal


def fee_report(*, user: Any) -> list[FeeRow]:
    """Money and platform fees per organizer and currency, from the log, as ``user`` may see."""
    rows = (
        scope_to_user(MoneyLog.objects.all(), user)
        .values("organizer__name", "currency")
        .annotate(
            card_payments=Count("payment", filter=Q(action="paid"), distinct=True),
            paid_by_card=Sum("amount", filter=Q(action="paid")),
            paid_on_site=Sum("amount", filter=Q(action="paid_on_site")),
            refunded=Sum("amount", filter=Q(action="refund")),
            fees=Sum("amount", filter=Q(action__in=FEE_ACTIONS)),
        )
        .order_by("organizer__name", "currency")
    )
    return [
        FeeRow(
            organizer=row["organizer__name"],
            currency=row["currency"],
            card_payments=row["card_payments"],
            paid_by_card=money(row["paid_by_card"] or 0),
            paid_on_site=money(row["paid_on_site"] or 0),
            refunded=money(-(row["refunded"] or 0)),
            fees=money(row["fees"] or 0),
        )
        for row in rows
    ]
