"""Celery tasks of events: thin, idempotent, by id."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from events import notifications


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_registration_confirmation(registration_id: int) -> None:
    notifications.registration_confirmation_send(registration_id=registration_id)


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_entry_email_check(registration_id: int) -> None:
    notifications.entry_email_check_send(registration_id=registration_id)


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_registration_cancelled(registration_id: int, by_organizer: bool) -> None:
    notifications.registration_cancelled_send(
        registration_id=registration_id, by_organizer=by_organizer
    )


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_waitlist_offer(entry_id: int) -> None:
    notifications.waitlist_offer_send(entry_id=entry_id)


@shared_task(acks_late=True)
def release_expired_places() -> int:
    """Scheduled every minute: free unpaid holds and stale offers, then offer the places."""
    from events.waitlist import release_expired, waitlist_offer_places

    races = release_expired()
    for race_id in races:
        waitlist_offer_places(race_id=race_id)
    return len(races)


@shared_task(bind=True, acks_late=True, max_retries=5)
def send_participant_email(
    self: Any, registration_id: int, subject: str, body: str, change_id: int | None = None
) -> None:
    """One participant's copy; ``change_id`` is its line in the entry's history."""
    from events.mass_email import participant_email_deliver

    retries = self.request.retries
    # Run in-process (the embedded default) there is no worker to try again later.
    final = self.request.is_eager or retries >= self.max_retries
    try:
        participant_email_deliver(
            registration_id=registration_id, subject=subject, body=body, change_id=change_id,
            final=final,
        )  # fmt: skip
    except OSError as exc:  # the mail server out of reach: later, backing off
        raise self.retry(exc=exc, countdown=min(3600, 60 * 2**retries)) from exc
