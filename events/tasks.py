"""Celery tasks of events: thin, idempotent, by id."""

from __future__ import annotations

from celery import shared_task

from events.notifications import registration_confirmation_send


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_registration_confirmation(registration_id: int) -> None:
    registration_confirmation_send(registration_id=registration_id)
