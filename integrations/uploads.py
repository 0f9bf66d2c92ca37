"""Activities from uploaded GPX, TCX and FIT files, stored once.

The same file uploaded twice is found by its SHA-256 (the activity's ``external_id``);
the same workout in another file (a watch's FIT after its GPX export, or one already
imported from Strava) by its start and end within ``SAME_WORKOUT`` of an existing one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from integrations.files import ActivityFileError, ParsedActivity, read_activity_file
from integrations.models import Activity, ActivitySource, ActivityStream
from integrations.streams import stream_fields, totals

SAME_WORKOUT = dt.timedelta(seconds=60)
_SPORTS = {
    "running": "Run",
    "run": "Run",
    "cycling": "Ride",
    "biking": "Ride",
    "ride": "Ride",
    "walking": "Walk",
    "hiking": "Hike",
    "swimming": "Swim",
}

__all__ = ["ActivityFileError", "UploadResult", "upload_activity"]


@dataclass(frozen=True)
class UploadResult:
    activity: Activity
    created: bool


def _sport(parsed: ParsedActivity) -> str:
    return _SPORTS.get(parsed.sport.strip().lower(), parsed.sport.strip().title()[:64])


def _same_workout(user: Any, start: dt.datetime, end: dt.datetime) -> Activity | None:
    return Activity.objects.filter(
        user=user,
        start__range=(start - SAME_WORKOUT, start + SAME_WORKOUT),
        end__range=(end - SAME_WORKOUT, end + SAME_WORKOUT),
    ).first()


def upload_activity(
    *, user: Any, raw: bytes, filename: str = "", parsed: ParsedActivity | None = None
) -> UploadResult:
    """Read the file and store its activity, or return the one already stored; raises
    ``ActivityFileError`` (with the reason to show) for a file that is not a workout."""
    digest = hashlib.sha256(raw).hexdigest()
    existing = Activity.objects.filter(
        user=user, source=ActivitySource.UPLOAD, external_id=digest
    ).first()
    if existing is not None:
        return UploadResult(existing, created=False)
    parsed = parsed or read_activity_file(raw)
    samples = parsed.samples
    start, end = samples[0].time, samples[-1].time
    same = _same_workout(user, start, end)
    if same is not None:
        return UploadResult(same, created=False)
    distance, moving = totals(samples)
    sport = _sport(parsed)
    try:
        with transaction.atomic():
            activity = Activity.objects.create(
                user=user,
                source=ActivitySource.UPLOAD,
                external_id=digest,
                sport=sport,
                name=parsed.name or f"{sport or 'Workout'} {start:%Y-%m-%d}",
                start=start,
                end=end,
                elapsed_time=round((end - start).total_seconds()),
                moving_time=moving,
                distance=distance,
                summary={"file": filename[:200], "format": parsed.format},
            )
            ActivityStream.objects.create(activity=activity, **stream_fields(samples))
    except IntegrityError:  # the same file uploaded twice at once: the other one won
        return UploadResult(
            Activity.objects.get(user=user, source=ActivitySource.UPLOAD, external_id=digest),
            created=False,
        )
    return UploadResult(activity, created=True)
