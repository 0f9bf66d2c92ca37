"""What an activity file holds, whatever its format: a name, a sport and timed samples."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

# A 30-hour ultra recorded every second has 108,000 samples; more is not one activity.
MAX_SAMPLES = 200_000
# Lower than the Dead Sea shore or higher than Everest: a device's "no value" marker.
ELEVATION_RANGE_M = (-500.0, 9000.0)
HEART_RATE_RANGE = (20.0, 260.0)
CADENCE_RANGE = (0.0, 300.0)
# Longer than this is not one workout (a multi-day ultra is a few days): a device's
# clock reset to 1970 or 2080 between two points.
MAX_DURATION = dt.timedelta(days=7)
# m/s: faster than this is no runner nor cyclist (a GPS jump or a unit mix-up).
SPEED_MAX = 60.0


class ActivityFileError(ValueError):
    """A file that is not a readable activity; the message is shown to the athlete."""


@dataclass(frozen=True, slots=True)
class Sample:
    """One moment of an activity (UTC time); every measurement may be missing."""

    time: dt.datetime
    lat: float | None = None
    lon: float | None = None
    ele: float | None = None
    hr: float | None = None
    cad: float | None = None
    speed: float | None = None


@dataclass
class ParsedActivity:
    """An activity file read: its samples in time order, one per instant."""

    format: str  # "gpx", "tcx" or "fit"
    name: str = ""
    sport: str = ""
    samples: list[Sample] = field(default_factory=list)


def in_range(value: float | None, bounds: tuple[float, float]) -> float | None:
    """The value when finite and within bounds, else None (a sensor's gap or garbage)."""
    if value is None or not math.isfinite(value):
        return None
    low, high = bounds
    return value if low <= value <= high else None


def valid_position(lat: float | None, lon: float | None) -> tuple[float | None, float | None]:
    """(lat, lon) when both are finite and on the globe, else (None, None)."""
    if lat is None or lon is None or not (math.isfinite(lat) and math.isfinite(lon)):
        return None, None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        return None, None
    return lat, lon


def finish(parsed: ParsedActivity) -> ParsedActivity:
    """Samples sorted by time, one per instant (the first kept); refuses a file without any."""
    if not parsed.samples:
        raise ActivityFileError(f"The {parsed.format.upper()} file has no timed points")
    seen: set[dt.datetime] = set()
    kept = []
    for sample in sorted(parsed.samples, key=lambda s: s.time):
        if sample.time not in seen:
            seen.add(sample.time)
            kept.append(sample)
    parsed.samples = kept
    if kept[-1].time - kept[0].time > MAX_DURATION:
        raise ActivityFileError(
            f"The file's points span {kept[0].time:%Y-%m-%d} to {kept[-1].time:%Y-%m-%d}:"
            " more than a week is not one workout (check the device's clock)"
        )
    return parsed
