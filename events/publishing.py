"""Moving events between draft, published and cancelled."""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from events.models import Event
from pace.lib.pagecache import bump_public_version


def events_set_status(*, events: QuerySet[Event], status: str) -> int:
    """Set the status of many events at once; public pages see it immediately."""
    if status not in Event.Status.values:
        raise ValueError(f"unknown event status {status!r}")
    count = events.update(status=status, updated_at=timezone.now())
    transaction.on_commit(bump_public_version)
    return count
