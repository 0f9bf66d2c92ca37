"""Celery tasks of integrations: thin, idempotent, taking ids."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.conf import settings
from django.core.cache import cache

from integrations import music, retention
from integrations.strava import backfill, webhooks
from pace.lib.clock import SYSTEM

# A deferral longer than this is left to the beat (every minute): Redis redelivers tasks
# whose eta lies beyond the broker's visibility timeout (1 h).
MAX_ETA_SECONDS = 20 * 60


@shared_task(bind=True, ignore_result=True)
def strava_drain(self: Any) -> None:
    """Make queued Strava calls while the shared quota allows, then hand over."""
    result = backfill.drain(max_calls=settings.STRAVA_DRAIN_BATCH)
    if self.request.is_eager:
        return  # in-process: the embedded beat comes back every minute
    # Follow-ups stay on the queue this drain came from (an operator may route Strava's).
    queue = {"queue": key} if (key := (self.request.delivery_info or {}).get("routing_key")) else {}
    if result.deferred_until is not None:
        wait = result.deferred_until - SYSTEM.time()
        # One scheduled drain per reset time, however many workers were turned away.
        if wait <= MAX_ETA_SECONDS and cache.add(
            f"strava:drain-at:{int(result.deferred_until)}", 1, timeout=int(wait) + 120
        ):
            strava_drain.apply_async(countdown=max(0.0, wait) + 1, **queue)
    elif result.more:
        strava_drain.apply_async(**queue)


@shared_task(ignore_result=True)
def strava_webhook_event(event: dict[str, Any]) -> None:
    webhooks.handle_event(event)


@shared_task(ignore_result=True)
def poll_music() -> None:
    """The beat's every-30-minutes poll: one task per connected Spotify or Last.fm account."""
    for connection_id in music.connections_to_poll():
        poll_music_connection.delay(connection_id)


@shared_task(ignore_result=True)
def poll_music_connection(connection_id: int) -> None:
    music.poll_safely(connection_id)


@shared_task(ignore_result=True)
def downsample_old_streams() -> None:
    retention.downsample_old_streams()
