"""Payments' part of the demo: what the demo's entries owe or have paid.

The core's demo adds entries with no payment (``events`` knows nothing of money);
``python manage.py seed_demo`` hands the ones a run added to ``demo_seed`` here, in
the same transaction, so an entry never stays without its payment.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from django.utils import timezone

from events.models import Registration
from payments.models import Payment

__all__ = ["demo_seed"]


def demo_seed(*, entries: Sequence[Registration], seed: int = 0) -> list[Payment]:
    """One payment per entry: free ones paid, on-site ones about half paid at the desk."""
    rng = random.Random(seed)
    now = timezone.now()
    return Payment.objects.bulk_create(
        Payment(
            registration=r,
            method=r.payment_method,
            amount=r.price,
            currency=r.currency,
            status=Payment.Status.PAID
            if not r.price or rng.random() < 0.5
            else Payment.Status.DUE_ON_SITE,
            paid_at=now if not r.price else None,
        )
        for r in entries
    )
