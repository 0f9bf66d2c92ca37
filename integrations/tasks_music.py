"""Celery tasks of the music and retention parts of integrations: thin, idempotent, ids."""

from __future__ import annotations

from celery import shared_task

from integrations import music, retention


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
