"""The OsmAnd / Traccar Client protocol (PROTOCOL.md §2): one location per request.

Three shapes carry the same fields: the query string, a form body and Traccar
Client's JSON (``device_id`` and a ``location`` object). Speeds are knots in the
first two and m/s in the JSON, as those apps send them.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

from tracking.ingest import PointError

KNOT_MS = 0.514444


def _float(value: Any, name: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise PointError(f"{name} is not a number") from None
    if not math.isfinite(number):
        raise PointError(f"{name} must be finite")
    return number


def parse_timestamp(value: Any) -> float:
    """Seconds (or milliseconds) since the epoch, or ISO 8601, as epoch seconds."""
    if value is None or value == "":
        raise PointError("timestamp is missing")
    if isinstance(value, str) and not value.replace(".", "", 1).isdigit():
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise PointError("timestamp is neither epoch seconds nor ISO 8601") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        return parsed.timestamp()
    seconds = _float(value, "timestamp")
    assert seconds is not None
    return seconds / 1000 if seconds > 1e11 else seconds


def _from_params(params: Any) -> tuple[str, dict[str, Any]]:
    speed = _float(params.get("speed"), "speed")
    point = {
        "t": parse_timestamp(params.get("timestamp")),
        "lat": _float(params.get("lat"), "lat"),
        "lon": _float(params.get("lon"), "lon"),
        "alt": _float(params.get("altitude"), "altitude"),
        "acc": _float(params.get("accuracy"), "accuracy"),
        "spd": None if speed is None or speed < 0 else speed * KNOT_MS,
        "bat": _float(params.get("batt"), "batt"),
        "hr": _float(params.get("hr") or params.get("heartrate"), "hr"),
    }
    return str(params.get("id") or params.get("deviceid") or ""), point


def _from_traccar_json(body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    location = body.get("location")
    if not isinstance(location, dict) or not isinstance(location.get("coords"), dict):
        raise PointError("location.coords is missing")
    coords = location["coords"]
    battery = location.get("battery") if isinstance(location.get("battery"), dict) else {}
    level = _float(battery.get("level"), "battery.level")
    speed = _float(coords.get("speed"), "speed")
    point = {
        "t": parse_timestamp(location.get("timestamp")),
        "lat": _float(coords.get("latitude"), "latitude"),
        "lon": _float(coords.get("longitude"), "longitude"),
        "alt": _float(coords.get("altitude"), "altitude"),
        "acc": _float(coords.get("accuracy"), "accuracy"),
        "spd": None if speed is None or speed < 0 else speed,
        "bat": None if level is None or level < 0 else round(level * 100, 1),
    }
    return str(body.get("device_id") or ""), point


def parse_request(*, query: Any, form: Any, body: bytes, content_type: str) -> tuple[str, dict]:
    """``(device id, point)`` from whichever shape the app sent; PointError if malformed."""
    if content_type.startswith("application/json"):
        try:
            data = json.loads(body or b"null")
        except ValueError:
            raise PointError("the body is not JSON") from None
        if not isinstance(data, dict):
            raise PointError("the JSON body must be an object")
        return _from_traccar_json(data)
    params = {**query.dict(), **form.dict()}
    for key in ("lat", "lon"):
        if params.get(key) in (None, ""):
            raise PointError(f"{key} is missing")
    return _from_params(params)
