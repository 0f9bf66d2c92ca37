"""An athlete's listening history: connecting Spotify and Last.fm, polling them, storing plays.

Spotify is polled with the ``after`` cursor (the newest stored play's timestamp), at
most ``MAX_PAGES`` of 50 plays a poll; Last.fm by username from the newest stored
scrobble on (its first poll reaches back ``LASTFM_FIRST_DAYS``). A play is stored once
(unique per athlete, source and the source's timestamp), so polling twice is harmless.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import Max

from integrations.lastfm import client as lastfm
from integrations.models import Connection, ConnectionStatus, Play, PlaySource, Provider
from integrations.spotify import client as spotify
from integrations.tokens import (
    ConnectionBrokenError,
    TokenRefusedError,
    TokenSet,
    get_access_token,
    mark_broken,
    now_of,
    store_tokens,
)
from pace.lib.clock import SYSTEM, Clock

logger = logging.getLogger(__name__)
MAX_PAGES = 10
# How far back a new Last.fm connection's first poll reaches.
LASTFM_FIRST_POLL = dt.timedelta(days=30)
MUSIC_PROVIDERS = (Provider.SPOTIFY, Provider.LASTFM)


class LastfmUserUnknownError(Exception):
    """Last.fm knows no such username."""


def spotify_refresher(connection: Connection, refresh_token: str) -> TokenSet:
    """Spotify's tokens.get_access_token refresher; a refused refresh token breaks the link."""
    try:
        tokens = spotify.refresh(refresh_token=refresh_token, now=now_of(SYSTEM))
    except spotify.SpotifyError as exc:
        if exc.status in (400, 401):
            raise TokenRefusedError(str(exc)) from exc
        raise
    return TokenSet(tokens.access_token, tokens.refresh_token, tokens.expires_at)


def _store(user_id: int, source: str, plays: Iterable[Play]) -> int:
    rows = list(plays)
    for play in rows:
        play.user_id = user_id
        play.source = source
    before = Play.objects.filter(user_id=user_id, source=source).count()
    Play.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    return Play.objects.filter(user_id=user_id, source=source).count() - before


def _spotify_row(play: spotify.SpotifyPlay) -> Play:
    return Play(
        track=play.track,
        artist=play.artist,
        album=play.album,
        played_at=play.played_at,
        # Spotify logs a play when it ends: it started its duration earlier.
        started_at=play.played_at - play.duration,
        duration_ms=int(play.duration.total_seconds() * 1000),
        external_id=play.external_id,
    )


def poll_spotify(connection: Connection, *, clock: Clock = SYSTEM) -> int:
    """Store the plays Spotify logged since the newest stored one; returns how many are new."""
    newest = Play.objects.filter(user_id=connection.user_id, source=PlaySource.SPOTIFY).aggregate(
        at=Max("played_at")
    )["at"]
    after = int(newest.timestamp() * 1000) if newest else None
    added = 0
    for _ in range(MAX_PAGES):
        try:
            page = spotify.recently_played(
                access_token=get_access_token(connection, clock=clock), after_ms=after
            )
        except spotify.SpotifyError as exc:
            if exc.status == 401:
                mark_broken(connection, reason="Spotify refused Pace's access: connect again")
            raise
        added += _store(connection.user_id, PlaySource.SPOTIFY, map(_spotify_row, page.plays))
        if len(page.plays) < spotify.PAGE_LIMIT or page.after_ms is None:
            break
        after = page.after_ms
    return added


def _lastfm_row(scrobble: lastfm.Scrobble) -> Play:
    return Play(
        track=scrobble.track,
        artist=scrobble.artist,
        album=scrobble.album,
        played_at=scrobble.started_at,
        started_at=scrobble.started_at,
        duration_ms=None,
        external_id=scrobble.mbid,
    )


def _lastfm_page(
    connection: Connection, *, since: dt.datetime, until: dt.datetime, page: int
) -> lastfm.RecentTracks:
    try:
        return lastfm.recent_tracks(
            username=connection.external_id, since=since, until=until, page=page
        )
    except lastfm.LastfmError as exc:
        if exc.code == lastfm.USER_NOT_FOUND:
            mark_broken(connection, reason="Last.fm no longer knows this username")
        raise


def poll_lastfm(connection: Connection, *, clock: Clock = SYSTEM) -> int:
    """Store the user's scrobbles since the newest stored one; returns how many are new.

    Last.fm pages newest first. The window is frozen (``to`` = now) so that pages do not
    shift under new scrobbles, and when it holds more than ``MAX_PAGES`` pages the oldest
    are taken first: the next poll goes on from the newest stored, leaving no gap."""
    newest = Play.objects.filter(user_id=connection.user_id, source=PlaySource.LASTFM).aggregate(
        at=Max("played_at")
    )["at"]
    until = now_of(clock)
    since = newest + dt.timedelta(seconds=1) if newest else until - LASTFM_FIRST_POLL
    first = _lastfm_page(connection, since=since, until=until, page=1)
    pages = (
        range(1, first.total_pages + 1)
        if first.total_pages <= MAX_PAGES
        else range(first.total_pages, first.total_pages - MAX_PAGES, -1)
    )
    added = 0
    for page in pages:
        result = (
            first if page == 1 else _lastfm_page(connection, since=since, until=until, page=page)
        )
        added += _store(connection.user_id, PlaySource.LASTFM, map(_lastfm_row, result.scrobbles))
    return added


def poll_connection(connection: Connection, *, clock: Clock = SYSTEM) -> int:
    """One poll of a music connection; a broken one is left alone until reconnected."""
    if connection.status != ConnectionStatus.OK:
        return 0
    if connection.provider == Provider.SPOTIFY:
        return poll_spotify(connection, clock=clock)
    if connection.provider == Provider.LASTFM:
        return poll_lastfm(connection, clock=clock)
    return 0


def connections_to_poll() -> list[int]:
    return list(
        Connection.objects.filter(
            provider__in=MUSIC_PROVIDERS, status=ConnectionStatus.OK
        ).values_list("pk", flat=True)
    )


def connect_lastfm(*, user: Any, username: str) -> Connection:
    """Link a Last.fm username (checked with Last.fm first) and poll it after commit."""
    if not lastfm.user_exists(username=username):
        raise LastfmUserUnknownError(username)
    with transaction.atomic():
        connection, _ = Connection.objects.update_or_create(
            user=user,
            provider=Provider.LASTFM,
            defaults={
                "external_id": username,
                "display_name": username,
                "status": ConnectionStatus.OK,
                "broken_reason": "",
            },
        )
        _enqueue_poll(connection.pk)
    return connection


def spotify_connected(
    *, user: Any, spotify_user_id: str, display_name: str, tokens: TokenSet, scopes: str
) -> Connection:
    """Keep the athlete's Spotify tokens (sealed) and poll at once after commit."""
    with transaction.atomic():
        connection, _ = Connection.objects.update_or_create(
            user=user,
            provider=Provider.SPOTIFY,
            defaults={
                "external_id": spotify_user_id,
                "display_name": display_name,
                "scopes": scopes,
            },
        )
        store_tokens(connection, tokens)
        _enqueue_poll(connection.pk)
    return connection


def _enqueue_poll(connection_id: int) -> None:
    from integrations import tasks

    transaction.on_commit(lambda: tasks.poll_music_connection.delay(connection_id))


def disconnect_music(connection: Connection) -> None:
    """Forget a music connection and every play Pace stored from it. Spotify has no API
    to revoke an app's access: the athlete removes Pace under their Spotify account's
    apps (the page says so)."""
    from allauth.socialaccount.models import SocialAccount

    with transaction.atomic():
        Play.objects.filter(user_id=connection.user_id, source=connection.provider).delete()
        if connection.provider == Provider.SPOTIFY:
            SocialAccount.objects.filter(user_id=connection.user_id, provider="spotify").delete()
        connection.delete()


def poll_safely(connection_id: int, *, clock: Clock = SYSTEM) -> int:
    """A task's poll: failures are logged (the next poll in 30 minutes tries again)."""
    connection = Connection.objects.filter(pk=connection_id).first()
    if connection is None:
        return 0
    try:
        return poll_connection(connection, clock=clock)
    except (spotify.SpotifyError, lastfm.LastfmError, ConnectionBrokenError) as exc:
        logger.warning("music poll of connection %s failed: %s", connection_id, exc)
        return 0
