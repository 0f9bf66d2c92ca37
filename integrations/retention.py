"""Raw activity streams kept ``INTEGRATIONS_RAW_STREAM_DAYS``, then downsampled.

A stream older than that (by its activity's start) keeps one sample per
``INTEGRATIONS_DOWNSAMPLE_SECONDS``: the mean of the bucket's heart rate, cadence,
speed and altitude at the bucket's first position. The map, the per-track table and
the fastest tracks stay; second-by-second detail goes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from integrations.models import ActivityStream

_MEANS = ("altitude", "heartrate", "cadence", "velocity")
BATCH = 200


def _mean(values: list[Any]) -> float | None:
    numbers = [v for v in values if isinstance(v, (int, float))]
    return round(sum(numbers) / len(numbers), 2) if numbers else None


def _buckets(times: list[int], seconds: int) -> list[list[int]]:
    buckets: list[list[int]] = []
    current = None
    for i, offset in enumerate(times):
        key = offset // seconds
        if key != current:
            buckets.append([])
            current = key
        buckets[-1].append(i)
    return buckets


def downsample(stream: ActivityStream, *, seconds: int, now: dt.datetime) -> None:
    """Replace the stream's samples with one per ``seconds`` (not saved)."""
    buckets = _buckets(list(stream.time or []), seconds)
    stream.time = [stream.time[b[0]] for b in buckets]
    if stream.latlng is not None:
        latlng = stream.latlng
        stream.latlng = [next((latlng[i] for i in b if latlng[i]), None) for b in buckets]
    for name in _MEANS:
        values = getattr(stream, name)
        if values is not None:
            setattr(stream, name, [_mean([values[i] for i in b]) for b in buckets])
    stream.samples = len(buckets)
    stream.resolution = seconds
    stream.downsampled_at = now


def downsample_old_streams(*, now: dt.datetime | None = None) -> int:
    """Downsample every raw stream past its retention; returns how many. Idempotent: a
    downsampled stream has a resolution and is never taken again."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=settings.INTEGRATIONS_RAW_STREAM_DAYS)
    seconds = settings.INTEGRATIONS_DOWNSAMPLE_SECONDS
    done = 0
    while True:
        with transaction.atomic():
            batch = list(
                ActivityStream.objects.select_for_update()
                .filter(resolution=0, activity__start__lt=cutoff)
                .order_by("pk")[:BATCH]
            )
            for stream in batch:
                downsample(stream, seconds=seconds, now=now)
                stream.save(
                    update_fields=[
                        *ActivityStream.CHANNELS,
                        "samples",
                        "resolution",
                        "downsampled_at",
                    ]
                )
        done += len(batch)
        if len(batch) < BATCH:
            return done
