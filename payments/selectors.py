"""Reads of money: an entry's payments as its athlete's pages show them, and for the back
office, fees and totals per organizer and currency."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, Sum

from events.access import scope_to_user
from events.payment_providers import PaymentLine
from events.pricing import money
from payments.models import MoneyLog, Payment

FEE_ACTIONS = ("platform_fee", "platform_fee_refund")

STATUS_LABELS = dict(Payment.Status.choices)


def payment_lines(*, registration_ids: Iterable[int]) -> dict[int, list[PaymentLine]]:
    """Each entry's payments, newest first, by entry id (every id has a list), in one query."""
    lines: dict[int, list[PaymentLine]] = {pk: [] for pk in registration_ids}
    rows = Payment.objects.filter(registration_id__in=lines).values_list(
        "registration_id", "status", "refunded_amount", "currency"
    )  # newest first: Payment's ordering
    for registration_id, status, refunded, currency in rows:
        line = PaymentLine(status=STATUS_LABELS[status], refunded=refunded, currency=currency)
        lines[registration_id].append(line)
    return lines


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
