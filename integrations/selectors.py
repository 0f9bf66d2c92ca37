"""Reads of the athlete's own pages: connections, activities with their tracks, the
fastest tracks.

Owner only (Strava's terms; Spotify's and Last.fm's data is the athlete's too): every
read filters by the requesting user, so another athlete's activity is a 404.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.http import Http404
from django.urls import reverse

from integrations.correlation import (
    UNKNOWN_DURATION,
    PlayWindow,
    TrackRecord,
    TrackStretch,
    fastest_tracks,
    stretches,
)
from integrations.files.samples import Sample
from integrations.models import (
    Activity,
    ActivitySource,
    ActivityStream,
    Connection,
    Play,
    Provider,
    StravaSync,
)
from integrations.strava.quota import Quota
from integrations.streams import samples_of
from pace.lib.clock import SYSTEM, Clock

# Distinct on a map and to most colour-blind eyes (Okabe-Ito, then Tol's muted).
PALETTE = (
    "#E69F00", "#56B4E9", "#009E73", "#CC79A7", "#0072B2", "#D55E00",
    "#882255", "#44AA99", "#999933", "#332288", "#AA4499", "#117733",
)  # fmt: skip
SILENCE = "#6b7280"
# A play that started this long before the workout may still be playing at its start.
LOOKBACK = dt.timedelta(minutes=20)


@dataclass(frozen=True)
class TrackRow:
    stretch: TrackStretch
    color: str
    number: int

    @property
    def pace(self) -> str:
        return format_pace(self.stretch.pace_s_per_km)


def format_pace(seconds_per_km: float | None) -> str:
    if seconds_per_km is None:
        return "-"
    minutes, seconds = divmod(round(seconds_per_km), 60)
    return f"{minutes}:{seconds:02d} /km"


def format_duration(seconds: float) -> str:
    hours, rest = divmod(round(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _windows(plays: Sequence[Play]) -> list[PlayWindow]:
    return [
        PlayWindow(track=p.track, artist=p.artist, started_at=p.started_at, duration=p.duration)
        for p in plays
    ]


def _plays_between(user: Any, start: dt.datetime, end: dt.datetime) -> list[Play]:
    return list(
        Play.objects.filter(
            user=user, started_at__gte=start - LOOKBACK, started_at__lt=end
        ).order_by("started_at")
    )


def _segments(samples: Sequence[Sample], rows: Sequence[TrackRow]) -> list[dict[str, Any]]:
    """The route as coloured lines: one per track, grey where nothing played."""
    colour_at: list[tuple[str, int | None]] = [(SILENCE, None)] * max(len(samples) - 1, 0)
    for row in rows:
        for i in range(row.stretch.first, row.stretch.last):
            colour_at[i] = (row.color, row.number)
    segments: list[dict[str, Any]] = []
    for i, (colour, number) in enumerate(colour_at):
        a, b = samples[i], samples[i + 1]
        if None in (a.lat, a.lon, b.lat, b.lon):
            continue
        if not segments or segments[-1]["track"] != number or segments[-1]["end"] != i:
            segments.append({"color": colour, "track": number, "points": [[a.lat, a.lon]]})
        segments[-1]["points"].append([b.lat, b.lon])
        segments[-1]["end"] = i + 1
    for segment in segments:
        del segment["end"]
    return segments


def activity_page(*, user: Any, activity_id: int) -> dict[str, Any]:
    activity = Activity.objects.filter(pk=activity_id, user=user).first()
    if activity is None:
        raise Http404("No such activity")
    stream = ActivityStream.objects.filter(activity=activity).first()
    samples = samples_of(activity, stream) if stream else []
    plays = _plays_between(user, activity.start, activity.end)
    found = stretches(samples, _windows(plays)) if samples else []
    rows = [
        TrackRow(stretch=s, color=PALETTE[i % len(PALETTE)], number=i + 1)
        for i, s in enumerate(found)
    ]
    return {
        "activity": activity,
        "rows": rows,
        "has_music": bool(plays),
        "has_route": any(s.lat is not None for s in samples),
        "map_data": {"segments": _segments(samples, rows), "silence": SILENCE},
        "pace": format_pace(
            activity.moving_time / (activity.distance / 1000) if activity.distance > 50 else None
        ),
        "downsampled": bool(stream and stream.resolution),
        "distance_km": f"{activity.distance / 1000:.2f}",
        "moving": format_duration(activity.moving_time),
    }


def fastest_tracks_page(*, user: Any, limit: int = 25) -> dict[str, Any]:
    """The tracks the athlete ran fastest to, over every activity with music."""
    plays = list(Play.objects.filter(user=user).order_by("started_at"))
    by_activity: list[tuple[int, list[TrackStretch]]] = []
    if plays:
        first, last = plays[0].started_at, plays[-1].started_at + UNKNOWN_DURATION
        activities = Activity.objects.filter(user=user, end__gte=first, start__lte=last)
        streams = ActivityStream.objects.filter(activity__in=activities).select_related("activity")
        windows = _windows(plays)
        for stream in streams:
            activity = stream.activity
            heard = [
                w for w in windows
                if activity.start - LOOKBACK <= w.started_at < activity.end
            ]  # fmt: skip
            if heard:
                by_activity.append((activity.pk, stretches(samples_of(activity, stream), heard)))
    records: list[TrackRecord] = fastest_tracks(
        by_activity, min_distance_m=settings.MUSIC_FASTEST_MIN_METRES, limit=limit
    )
    return {
        "records": [(r, format_pace(r.pace_s_per_km)) for r in records],
        "min_km": settings.MUSIC_FASTEST_MIN_METRES / 1000,
        "activities_with_music": len(by_activity),
    }


def music_connections(*, user: Any) -> dict[str, Any]:
    found = {
        c.provider: c
        for c in Connection.objects.filter(user=user, provider__in=("spotify", "lastfm"))
    }
    return {
        "spotify": found.get(Provider.SPOTIFY),
        "lastfm": found.get(Provider.LASTFM),
        "spotify_enabled": settings.SPOTIFY_ENABLED,
        "lastfm_enabled": bool(settings.LASTFM_API_KEY),
        "plays": Play.objects.filter(user=user).count(),
    }


@dataclass(frozen=True)
class StravaProgress:
    imported: int
    estimated_total: int | None
    queued: int
    finished: bool
    next_batch_at: datetime | None  # None: working now (or nothing left)
    next_batch_in_s: float | None = None  # from when it was read

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
        if self.next_batch_in_s is not None:
            # In minutes from now: a clock time would need the athlete's time zone.
            minutes = max(1, math.ceil(self.next_batch_in_s / 60))
            return f"{head}, next batch in {minutes} min"
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
        next_batch_in_s=max(0.0, blocked - clock.time()) if blocked else None,
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
