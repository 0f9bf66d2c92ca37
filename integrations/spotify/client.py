"""Spotify's Web API: the only place that does Spotify's HTTP (token refresh, recently played).

Spotify's ``played_at`` is when a play was logged, which in practice is when it ended
(spotify/web-api issues 613 and 1083): ``Play.started_at`` is that time less the
track's duration. The ``after`` cursor (milliseconds) returns plays logged after it,
at most 50 a call, hence a poll every 30 minutes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings

TIMEOUT = (5.0, 10.0)  # connect, read
PAGE_LIMIT = 50


class SpotifyError(Exception):
    """A Spotify call failed; ``retryable`` says whether trying later can help."""

    def __init__(self, message: str, *, retryable: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str  # empty when Spotify kept the old one
    expires_at: dt.datetime


@dataclass(frozen=True)
class SpotifyPlay:
    external_id: str  # the track's id
    track: str
    artist: str
    album: str
    played_at: dt.datetime  # as Spotify reports it (the end of the play)
    duration: dt.timedelta


@dataclass(frozen=True)
class RecentlyPlayed:
    plays: list[SpotifyPlay]
    after_ms: int | None  # the cursor for the next call; None: nothing new


def _send(method: str, url: str, **kwargs: Any) -> dict[str, Any]:
    try:
        response = requests.request(method, url, timeout=TIMEOUT, **kwargs)
    except requests.RequestException as exc:
        raise SpotifyError(f"Spotify did not answer: {exc}", retryable=True) from exc
    if response.status_code == 429 or response.status_code >= 500:
        raise SpotifyError(
            f"Spotify answered {response.status_code}", retryable=True, status=response.status_code
        )
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code >= 400 or not isinstance(body, dict):
        error = body.get("error") if isinstance(body, dict) else None
        detail = error.get("message") if isinstance(error, dict) else error
        raise SpotifyError(
            f"Spotify refused ({response.status_code}): {str(detail or '')[:200]}",
            retryable=False,
            status=response.status_code,
        )
    return body


def refresh(*, refresh_token: str, now: dt.datetime) -> Tokens:
    """New tokens from a refresh token (PKCE: the client id in the body, no secret needed)."""
    data = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": settings.SPOTIFY_CLIENT_ID,
    }
    auth = (
        (settings.SPOTIFY_CLIENT_ID, settings.SPOTIFY_CLIENT_SECRET)
        if settings.SPOTIFY_CLIENT_SECRET
        else None
    )
    body = _send("POST", f"{settings.SPOTIFY_ACCOUNTS_URL}/api/token", data=data, auth=auth)
    try:
        return Tokens(
            access_token=str(body["access_token"]),
            refresh_token=str(body.get("refresh_token") or ""),
            expires_at=now + dt.timedelta(seconds=int(body.get("expires_in", 3600))),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise SpotifyError("Spotify's token answer has no access token", retryable=True) from exc


def _time(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _play(item: dict[str, Any]) -> SpotifyPlay:
    track = item["track"]
    return SpotifyPlay(
        external_id=str(track.get("id") or track.get("uri") or track["name"])[:64],
        track=str(track["name"])[:300],
        artist=", ".join(str(a.get("name", "")) for a in track.get("artists") or [])[:300],
        album=str((track.get("album") or {}).get("name", ""))[:300],
        played_at=_time(str(item["played_at"])).astimezone(dt.UTC),
        duration=dt.timedelta(milliseconds=int(track.get("duration_ms") or 0)),
    )


def recently_played(*, access_token: str, after_ms: int | None) -> RecentlyPlayed:
    """The plays logged after ``after_ms`` (oldest first), at most 50, and the next cursor."""
    params: dict[str, Any] = {"limit": PAGE_LIMIT}
    if after_ms is not None:
        params["after"] = after_ms
    body = _send(
        "GET",
        f"{settings.SPOTIFY_API_URL}/v1/me/player/recently-played",
        params=params,
        headers={"Authorization": f"Bearer {access_token}"},
    )
    plays = []
    for item in body.get("items") or []:
        try:
            plays.append(_play(item))
        except (KeyError, TypeError, ValueError, AttributeError):
            continue  # a podcast episode or a malformed item: no track to line up
    cursor = (body.get("cursors") or {}).get("after")
    try:
        after = int(cursor) if cursor is not None else None
    except (TypeError, ValueError):
        after = None
    return RecentlyPlayed(plays=sorted(plays, key=lambda p: p.played_at), after_ms=after)
