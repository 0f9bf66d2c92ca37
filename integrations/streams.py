"""An activity's stream row as samples and back: the one format the correlation reads."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from typing import Any

from integrations.files.samples import Sample
from integrations.models import Activity, ActivityStream
from pace.lib.geo import haversine_m

# A gap between samples longer than this is a pause: no distance nor moving time across it.
MAX_GAP_SECONDS = 60.0
# Slower than this (m/s) is standing at a crossing, not moving.
MOVING_SPEED = 0.5


def _at(values: list[Any] | None, i: int) -> Any:
    return values[i] if values is not None and i < len(values) else None


def samples_of(activity: Activity, stream: ActivityStream) -> list[Sample]:
    """The stream's samples with UTC times."""
    samples = []
    for i, offset in enumerate(stream.time or []):
        latlng = _at(stream.latlng, i)
        lat, lon = (
            (latlng[0], latlng[1])
            if isinstance(latlng, list) and len(latlng) == 2
            else (None, None)
        )
        samples.append(
            Sample(
                time=activity.start + dt.timedelta(seconds=offset),
                lat=lat,
                lon=lon,
                ele=_at(stream.altitude, i),
                hr=_at(stream.heartrate, i),
                cad=_at(stream.cadence, i),
                speed=_at(stream.velocity, i),
            )
        )
    return samples


def _channel(values: list[Any]) -> list[Any] | None:
    return values if any(v is not None for v in values) else None


def stream_fields(samples: Sequence[Sample]) -> dict[str, Any]:
    """ActivityStream's fields for samples in time order (offsets from the first)."""
    start = samples[0].time
    return {
        "time": [round((s.time - start).total_seconds()) for s in samples],
        "latlng": _channel(
            [[s.lat, s.lon] if s.lat is not None and s.lon is not None else None for s in samples]
        ),
        "altitude": _channel([s.ele for s in samples]),
        "heartrate": _channel([s.hr for s in samples]),
        "cadence": _channel([s.cad for s in samples]),
        "velocity": _channel([s.speed for s in samples]),
        "samples": len(samples),
    }


def totals(samples: Sequence[Sample]) -> tuple[float, int]:
    """Distance (metres) and moving time (seconds) of samples in time order."""
    distance, moving = 0.0, 0.0
    for before, sample in itertools.pairwise(samples):
        seconds = (sample.time - before.time).total_seconds()
        if not 0 < seconds <= MAX_GAP_SECONDS:
            continue
        if None not in (sample.lat, sample.lon, before.lat, before.lon):
            step = haversine_m(before.lat, before.lon, sample.lat, sample.lon)  # type: ignore[arg-type]
        elif sample.speed is not None:
            step = sample.speed * seconds
        else:
            continue
        distance += step
        if step / seconds >= MOVING_SPEED:
            moving += seconds
    return distance, round(moving)
