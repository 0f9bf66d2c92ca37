"""Keeping stored fixes small: raw for a while, then one fix per athlete per interval.

A finished race's full-rate trace is useful for weeks (results disputes, replays),
then a thinned one (one fix every ``every_seconds``) still draws the route.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from events.models import Race
from tracking.models import Kudos, Position, Post, SplitCrossing, Tracker

CHUNK = 5000


def positions_thin(
    *, older_than_days: int, every_seconds: int, now: dt.datetime | None = None
) -> int:
    """Delete all but the first fix per athlete per ``every_seconds`` of old fixes; returns
    how many went. Keeping the first of each bucket makes a second run delete nothing."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=older_than_days)
    old = Position.objects.filter(t__lt=cutoff).order_by("registration_id", "t", "id")
    doomed: list[int] = []
    last: tuple[int, int] | None = None
    for pk, registration_id, t in old.values_list("pk", "registration_id", "t").iterator(CHUNK):
        bucket = (registration_id, int(t.timestamp()) // every_seconds)
        if bucket == last:
            doomed.append(pk)
        last = bucket
    deleted = 0
    for start in range(0, len(doomed), CHUNK):
        with transaction.atomic():
            deleted += Position.objects.filter(pk__in=doomed[start : start + CHUNK]).delete()[0]
    return deleted


def tracking_data_delete(*, races: QuerySet[Race]) -> None:
    """Everything tracking stored for these races: fixes, posts, crossings, kudos."""
    for model in (Position, Post, SplitCrossing):
        model.objects.filter(race__in=races).delete()
    Kudos.objects.filter(registration__race__in=races).delete()
    Tracker.objects.filter(registration__race__in=races).update(kudos=0)
