"""What a fix must be: the checks of PROTOCOL.md §1, and checked points as ``Position`` rows.

A point that fails is dropped with the reason shown to its sender; the rest of its
batch is kept.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from django.utils import timezone

from tracking.ingest.athletes import Athlete

MAX_BATCH = 500
FUTURE_TOLERANCE_S = 300
COLUMNS = (
    "race_id", "registration_id", "seq", "t", "lat", "lon",
    "alt", "acc", "spd", "hr", "cad", "bat", "received_at", "device_key",
)  # fmt: skip
OPTIONAL = ("alt", "acc", "spd", "hr", "cad", "bat")


class PointError(ValueError):
    """Why a point was dropped (shown to the sender)."""


def _number(point: dict[str, Any], key: str, low: float, high: float) -> float | None:
    value = point.get(key)
    if value is None:
        return None
    # Nine of these a fix, thousands of fixes a second: a plain float or int in range is
    # taken at once (NaN and infinities fail the comparison; bool's type is not int's).
    kind = type(value)
    if (kind is float or kind is int) and low <= value <= high:
        return float(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PointError(f"{key} must be a finite number")
    # An int is finite (and math.isfinite cannot take one past a float's range).
    if isinstance(value, float) and not math.isfinite(value):
        raise PointError(f"{key} must be a finite number")
    if not low <= value <= high:
        raise PointError(f"{key} must be within [{low:g}, {high:g}]")
    return float(value)


_RANGES = {
    "alt": (-1000.0, 10000.0),
    "acc": (0.0, 100_000.0),
    "spd": (0.0, 200.0),
    "hr": (0.0, 300.0),
    "cad": (0.0, 400.0),
    "bat": (0.0, 100.0),
}


def parse_point(point: Any, *, athlete: Athlete, now: float) -> dict[str, Any]:
    """A checked point (PROTOCOL.md §1), or PointError saying what is wrong."""
    return _checked(point, earliest=athlete.opens, now=now)


# No fix of a race Pace tracks is older; an earlier time is a broken clock or a wrong unit.
EARLIEST_FIX = dt.datetime(2000, 1, 1, tzinfo=dt.UTC).timestamp()


def check_fix(point: Any, *, now: float) -> dict[str, Any]:
    """``parse_point`` without the sender's race: what ``/osmand/`` checks before it looks the
    device up, so that a bad point is answered alike whether its device exists or not."""
    return _checked(point, earliest=EARLIEST_FIX, now=now)


def _checked(point: Any, *, earliest: float, now: float) -> dict[str, Any]:
    if not isinstance(point, dict):
        raise PointError("a point must be an object")
    for key in ("t", "lat", "lon"):
        if point.get(key) is None:
            raise PointError(f"{key} is missing")
    t = _number(point, "t", earliest, now + FUTURE_TOLERANCE_S)
    row = {
        "t": t,
        "lat": _number(point, "lat", -90, 90),
        "lon": _number(point, "lon", -180, 180),
    }
    for key in OPTIONAL:
        row[key] = _number(point, key, *_RANGES[key])
    return row


def parse_points(
    points: list[Any], *, athlete: Athlete, now: float
) -> tuple[list[dict[str, Any]], list[str]]:
    """The valid points of a batch, and why the others were dropped."""
    valid, errors = [], []
    for index, point in enumerate(points):
        try:
            valid.append(parse_point(point, athlete=athlete, now=now))
        except PointError as exc:
            errors.append(f"point {index}: {exc}")
    return valid, errors


def as_rows(
    points: list[dict[str, Any]], *, athlete: Athlete, seq: int, device: int = 0
) -> list[tuple[Any, ...]]:
    """Points as ``Position`` rows in ``COLUMNS`` order (``device``: its ``device_key``)."""
    received = timezone.now()
    return [
        (
            athlete.race_id,
            athlete.id,
            seq,
            dt.datetime.fromtimestamp(p["t"], tz=dt.UTC),
            p["lat"],
            p["lon"],
            *(p[key] for key in OPTIONAL),
            received,
            device,
        )
        for p in points
    ]
