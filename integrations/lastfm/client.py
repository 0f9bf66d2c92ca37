"""Last.fm's API: the only place that does Last.fm's HTTP (``user.getRecentTracks``).

Needs only the platform's API key and the athlete's username. A scrobble's ``date.uts``
is when the track started; Last.fm gives no duration here, so the correlation ends a
play at the next one's start (capped). The track playing now has no date: skipped.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings

TIMEOUT = (5.0, 10.0)  # connect, read
PAGE_LIMIT = 200
# Last.fm's error codes that mean "try again later": operation failed, service offline,
# temporarily unavailable, rate limit exceeded.
RETRYABLE_ERRORS = {8, 11, 16, 29}
USER_NOT_FOUND = 6


class LastfmError(Exception):
    """A Last.fm call failed; ``retryable`` says whether trying later can help."""

    def __init__(self, message: str, *, retryable: bool, code: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.code = code


@dataclass(frozen=True)
class Scrobble:
    track: str
    artist: str
    album: str
    started_at: dt.datetime
    mbid: str


@dataclass(frozen=True)
class RecentTracks:
    scrobbles: list[Scrobble]
    page: int
    total_pages: int


def _text(value: Any) -> str:
    if isinstance(value, dict):
        value = value.get("#text") or value.get("name") or ""
    return str(value or "")[:300]


def _scrobble(item: dict[str, Any]) -> Scrobble | None:
    date = item.get("date")
    if not isinstance(date, dict) or "uts" not in date:
        return None  # now playing
    return Scrobble(
        track=_text(item.get("name")),
        artist=_text(item.get("artist")),
        album=_text(item.get("album")),
        started_at=dt.datetime.fromtimestamp(int(date["uts"]), tz=dt.UTC),
        mbid=str(item.get("mbid") or "")[:64],
    )


def _call(params: dict[str, Any]) -> dict[str, Any]:
    query = {**params, "api_key": settings.LASTFM_API_KEY, "format": "json"}
    try:
        response = requests.get(settings.LASTFM_API_URL, params=query, timeout=TIMEOUT)
    except requests.RequestException as exc:
        raise LastfmError(f"Last.fm did not answer: {exc}", retryable=True) from exc
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and "error" in body:
        code = int(body["error"]) if str(body["error"]).isdigit() else None
        raise LastfmError(
            str(body.get("message") or "Last.fm refused")[:200],
            retryable=code in RETRYABLE_ERRORS,
            code=code,
        )
    if response.status_code >= 400 or not isinstance(body, dict):
        raise LastfmError(
            f"Last.fm answered {response.status_code}", retryable=response.status_code >= 500
        )
    return body


def recent_tracks(
    *, username: str, since: dt.datetime | None, page: int = 1, until: dt.datetime | None = None
) -> RecentTracks:
    """One page of the user's scrobbles since ``since`` (newest first, as Last.fm pages)."""
    params: dict[str, Any] = {
        "method": "user.getrecenttracks",
        "user": username,
        "limit": PAGE_LIMIT,
        "page": page,
    }
    if since is not None:
        params["from"] = int(since.timestamp())
    if until is not None:
        params["to"] = int(until.timestamp())
    body = _call(params)
    recent = body.get("recenttracks") or {}
    items = recent.get("track") or []
    if isinstance(items, dict):  # Last.fm sends a lone track as an object, not a list
        items = [items]
    scrobbles = []
    for item in items:
        try:
            scrobble = _scrobble(item)
        except (KeyError, TypeError, ValueError, OverflowError):
            continue
        if scrobble is not None and scrobble.track:
            scrobbles.append(scrobble)
    attrs = recent.get("@attr") or {}
    try:
        total_pages = int(attrs.get("totalPages", 1))
    except (TypeError, ValueError):
        total_pages = 1
    return RecentTracks(scrobbles=scrobbles, page=page, total_pages=total_pages)


def user_exists(*, username: str) -> bool:
    """Whether Last.fm knows the username (the connect form checks it)."""
    try:
        _call({"method": "user.getinfo", "user": username})
    except LastfmError as exc:
        if exc.code == USER_NOT_FOUND:
            return False
        raise
    return True
