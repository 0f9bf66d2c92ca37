"""Scheduled work of live tracking (Celery beat, or the embedded scheduler)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail

from tracking.retention import positions_thin


@shared_task
def thin_old_positions() -> int:
    """Thin raw fixes older than the retention period; safe to run twice."""
    return positions_thin(
        older_than_days=settings.TRACKING_RETENTION_DAYS,
        every_seconds=settings.TRACKING_DOWNSAMPLE_SECONDS,
    )


@shared_task
def safety_mail_send(recipients: list[str], subject: str, body: str) -> int:
    """One race-control e-mail (off course, SOS) to a race's safety contacts."""
    return send_mail(
        subject=subject,
        message=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=recipients,
    )
