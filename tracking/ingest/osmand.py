"""The OsmAnd / Traccar Client protocol (PROTOCOL.md §2): one location per request.

The shapes real apps send, as Traccar's own server reads them (its
``OsmAndProtocolDecoder``): a query string (OsmAnd, the Android Traccar Client,
which POSTs with an empty body), the same fields in a form body, and the JSON of
the newer Traccar Client (``device_id`` and a ``location`` object, or a list of
them). ``location=LAT,LON`` may stand for ``lat`` and ``lon``; a fix without a
``timestamp`` took place when it arrived. Speeds are knots in the first two and
m/s in the JSON, as those apps send them; -1 is "unknown" in the JSON.

Everything here is checked without the database, so that a malformed request is
answered the same whether its device exists or not.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from dataclasses import dataclass
from typing import Any, cast

from django.core.exceptions import SuspiciousOperation
from django.http import QueryDict

from tracking.ingest.fixes import EARLIEST_FIX, FUTURE_TOLERANCE_S, PointError, check_fix
from tracking.models import DEVICE_ID_MAX

KNOT_MS = 0.514444
MAX_BODY_BYTES = 64 * 1024  # Traccar Client's JSON is under 1 KB
MAX_LOCATIONS = 100  # a batch of the newer Traccar Client (``batchSync``)
_MS_FROM = 2**31 - 1  # Traccar's rule: an epoch below it is seconds, above it milliseconds
_EPOCH = re.compile(r"\s*[-+]?\d+(\.\d*)?\s*")


@dataclass(frozen=True, slots=True)
class OsmAndRequest:
    """What one request says: which device, and its checked points (oldest first)."""

    device_id: str
    points: list[dict[str, Any]]


def _float(value: Any, name: str) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise PointError(f"{name} is not a number")
    try:
        number = float(value)
    except (ValueError, OverflowError):  # OverflowError: an int past float's range
        raise PointError(f"{name} is not a number") from None
    if not math.isfinite(number):
        raise PointError(f"{name} must be finite")
    return number


def _check_bearing(value: Any, name: str) -> None:
    """Checked, not kept (no column): degrees from north, -1 when the app does not know."""
    bearing = _float(value, name)
    if bearing is not None and not -1 <= bearing <= 360:
        raise PointError(f"{name} must be within [0, 360] (or -1: unknown)")


def _known(value: float | None) -> float | None:
    """Apps send -1 for "unknown" (speed, heading, battery)."""
    return None if value is None or value < 0 else value


def parse_timestamp(value: Any, *, now: float) -> float:
    """Epoch seconds or milliseconds, or ISO 8601 (``T`` or a space), as epoch seconds.

    None or empty: the time of arrival, as Traccar's server takes it (OsmAnd and some
    Traccar Client versions send no time).
    """
    if value is None or value == "":
        return now
    if isinstance(value, str) and not _EPOCH.fullmatch(value):
        seconds = _iso_seconds(value)
    else:
        number = _float(value, "timestamp")
        assert number is not None
        seconds = number / 1000 if abs(number) >= _MS_FROM else number
    if seconds < EARLIEST_FIX:
        raise PointError("timestamp is before 2000: a clock not set, or a wrong unit")
    if seconds > now + FUTURE_TOLERANCE_S:
        raise PointError("timestamp is more than 5 minutes ahead of the server's clock")
    return seconds


def _iso_seconds(value: str) -> float:
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        return parsed.timestamp()
    except (ValueError, OverflowError):
        raise PointError("timestamp is neither epoch seconds nor ISO 8601") from None


def request_device_id(value: Any) -> str:
    """The id a request names: 1 to 100 printable characters (a 400 otherwise).

    Only what makes a request malformed: whether an id may name a tracker at all is
    ``deviceids.device_id_problem``'s to say, at the lookup (an "unknown device")."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # JSON numbers: Traccar Client's default ids are digits
    if value is None or value == "":
        raise PointError("id is missing")
    if not isinstance(value, str):
        raise PointError("id must be a string")
    device_id = value.strip()
    if not device_id or len(device_id) > DEVICE_ID_MAX or not device_id.isprintable():
        raise PointError(f"id must be 1 to {DEVICE_ID_MAX} printable characters")
    return device_id


def _lat_lon(params: dict[str, Any]) -> tuple[Any, Any]:
    lat, lon = params.get("lat"), params.get("lon")
    location = params.get("location")
    if lat in (None, "") and lon in (None, "") and isinstance(location, str):
        parts = location.split(",")
        if len(parts) != 2:
            raise PointError("location must be LAT,LON")
        lat, lon = parts
    for key, value in (("lat", lat), ("lon", lon)):
        if value in (None, ""):
            raise PointError(f"{key} is missing")
    return lat, lon


def _from_params(params: dict[str, Any], *, now: float) -> dict[str, Any]:
    lat, lon = _lat_lon(params)
    speed = _known(_float(params.get("speed"), "speed"))
    _check_bearing(params.get("bearing") or params.get("heading"), "bearing")
    hdop = _float(params.get("hdop"), "hdop")
    if hdop is not None and hdop < 0:
        raise PointError("hdop must not be negative")
    return {
        "t": parse_timestamp(params.get("timestamp"), now=now),
        "lat": _float(lat, "lat"),
        "lon": _float(lon, "lon"),
        "alt": _float(params.get("altitude"), "altitude"),
        "acc": _float(params.get("accuracy"), "accuracy"),
        "spd": None if speed is None else speed * KNOT_MS,
        "bat": _known(_float(params.get("batt"), "batt")),
        "hr": _float(params.get("hr") or params.get("heartrate"), "hr"),
    }


def _from_location(location: Any, *, now: float) -> dict[str, Any]:
    if not isinstance(location, dict) or not isinstance(location.get("coords"), dict):
        raise PointError("location.coords is missing")
    coords = location["coords"]
    battery = location.get("battery")
    if not isinstance(battery, dict):
        battery = {}
    level = _known(_float(battery.get("level"), "battery.level"))
    _check_bearing(coords.get("heading"), "heading")
    for key in ("latitude", "longitude"):
        if coords.get(key) is None:
            raise PointError(f"location.coords.{key} is missing")
    return {
        "t": parse_timestamp(location.get("timestamp"), now=now),
        "lat": _float(coords.get("latitude"), "latitude"),
        "lon": _float(coords.get("longitude"), "longitude"),
        "alt": _float(coords.get("altitude"), "altitude"),
        "acc": _float(coords.get("accuracy"), "accuracy"),
        "spd": _known(_float(coords.get("speed"), "speed")),
        "bat": None if level is None else round(level * 100, 1),
    }


def _from_json(body: bytes, *, now: float) -> OsmAndRequest:
    try:
        data = json.loads(body or b"null")
    except (ValueError, RecursionError):  # RecursionError: arrays nested thousands deep
        raise PointError("the body is not JSON") from None
    if not isinstance(data, dict):
        raise PointError("the JSON body must be an object")
    if "location" not in data or isinstance(data.get("location"), str):  # a flat object
        device_id = request_device_id(data.get("id") or data.get("deviceid"))
        return OsmAndRequest(device_id, [_checked(_from_params(data, now=now), now=now)])
    device_id = request_device_id(data.get("device_id"))
    locations = data.get("location")
    locations = locations if isinstance(locations, list) else [locations]
    if not 0 < len(locations) <= MAX_LOCATIONS:
        raise PointError(f"location must hold 1 to {MAX_LOCATIONS} locations")
    points = [_checked(_from_location(loc, now=now), now=now) for loc in locations]
    return OsmAndRequest(device_id, sorted(points, key=lambda p: p["t"]))


def _checked(point: dict[str, Any], *, now: float) -> dict[str, Any]:
    point = {key: value for key, value in point.items() if value is not None}
    return check_fix(point, now=now)


def _form(body: bytes, form: QueryDict | None) -> dict[str, str]:
    if form is not None:  # the body as Django read it (multipart included)
        return cast("dict[str, str]", form.dict())  # a form's values are text
    try:
        return QueryDict(body).dict()
    except (SuspiciousOperation, ValueError):  # more fields than Django takes
        raise PointError("the body is neither a form nor JSON") from None


def parse_request(
    *, query: QueryDict, body: bytes, content_type: str, now: float, form: QueryDict | None = None
) -> OsmAndRequest:
    """The device and its checked points, from whichever shape the app sent; PointError
    saying what is wrong otherwise. Reads no database.

    ``form``: the body as Django parsed it, for form content types (None: read here).
    """
    is_json = content_type.startswith("application/json")
    if is_json or (not query and body.lstrip().startswith(b"{")):
        return _from_json(body, now=now)
    # Traccar reads the body as a query string whatever its content type says.
    params = {**_form(body, form), **query.dict()} if body else query.dict()
    device_id = request_device_id(params.get("id") or params.get("deviceid"))
    return OsmAndRequest(device_id, [_checked(_from_params(params, now=now), now=now)])
