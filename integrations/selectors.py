"""Reads for the athlete's connections page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.urls import reverse

from integrations.models import Activity, ActivitySource, Connection, Provider, StravaSync
from integrations.strava.quota import Quota
from pace.lib.clock import SYSTEM, Clock


@dataclass(frozen=True)
class StravaProgress:
    imported: int
    estimated_total: int | None
    queued: int
    finished: bool
    next_batch_at: datetime | None  # None: working now (or nothing left)

    @property
    def text(self) -> str:
        about = (
            f" of about {self.estimated_total:,}"
            if self.estimated_total and self.estimated_total > self.imported
            else ""
        )
        head = f"{self.imported:,}{about} activities"
        if self.finished and not self.queued:
            return f"{head}, all imported"
        if self.next_batch_at is not None:
            return f"{head}, next batch at {self.next_batch_at:%H:%M} UTC"
        return f"{head}, importing"


def strava_progress(connection: Connection, *, clock: Clock = SYSTEM) -> StravaProgress | None:
    sync = StravaSync.objects.filter(connection=connection).first()
    if sync is None:
        return None
    imported = Activity.objects.filter(
        user_id=connection.user_id, source=ActivitySource.STRAVA
    ).count()
    queued = connection.jobs.count()
    blocked = Quota(clock=clock).blocked_until(read=True) if queued else None
    return StravaProgress(
        imported=imported,
        estimated_total=sync.estimated_total,
        queued=queued,
        finished=sync.finished_at is not None,
        next_batch_at=datetime.fromtimestamp(blocked, tz=UTC) if blocked else None,
    )


def _strava_connect_url() -> str | None:
    """allauth's Strava login, in "connect" mode; None while Strava is not set up."""
    if not settings.STRAVA_ENABLED:
        return None
    return reverse("strava_login") + "?process=connect"


def connections_page(*, user: Any, clock: Clock = SYSTEM) -> dict[str, Any]:
    strava = Connection.objects.filter(user=user, provider=Provider.STRAVA).first()
    return {
        "strava_connect_url": _strava_connect_url(),
        "strava": strava,
        "strava_progress": strava_progress(strava, clock=clock) if strava else None,
        "recent_activities": list(Activity.objects.filter(user=user).order_by("-start")[:20]),
    }
