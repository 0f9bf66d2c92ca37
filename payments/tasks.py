"""Celery tasks of payments: thin, idempotent, by id."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task

from payments import refunds
from payments.stripe import PaymentProviderError

logger = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True, max_retries=8)
def refund_unplaced_payment(self: Task[Any, Any], payment_id: int) -> None:
    """Give back a payment that found no place; Stripe's idempotency makes reruns harmless."""
    try:
        refunds.refund_unplaced(payment_id=payment_id)
    except PaymentProviderError as exc:
        if not exc.retryable:
            logger.error("Refund of payment %s refused by Stripe: %s", payment_id, exc)
            raise
        raise self.retry(exc=exc, countdown=min(1800, 30 * 2**self.request.retries)) from exc


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_refund_notice(refund_id: int) -> None:
    from payments.notifications import refund_notice_send

    refund_notice_send(refund_id=refund_id)
