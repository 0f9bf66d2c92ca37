"""GPX and TCX activity files read with expat while their bytes stream by.

Not gpxpy nor python-tcxparser: gpxpy decodes bytes as UTF-8 only, runs regular
expressions over the whole text that take quadratic time on crafted input and lets a
DTD's entities expand (``events/gpx_reading.py`` measured it); python-tcxparser
returns each measurement as its own list with gaps dropped, so a heart rate cannot be
put back on its point. Expat reads the encoding as XML says, a DTD is refused (no
entity bombs, no external entities), and elements are matched by local name, so
Garmin's, Strava's and Polar's namespaces and extensions read alike.
"""

from __future__ import annotations

import datetime as dt
from xml.parsers import expat

from integrations.files.samples import (
    CADENCE_RANGE,
    ELEVATION_RANGE_M,
    HEART_RATE_RANGE,
    MAX_SAMPLES,
    SPEED_MAX,
    ActivityFileError,
    ParsedActivity,
    Sample,
    in_range,
    valid_position,
)
from pace.lib.safexml import DTDRefusedError, parse_without_dtd

# Local names of a point's element, and of the values read inside it, per format.
_POINT = {"gpx": "trkpt", "tcx": "Trackpoint"}
_VALUES = {
    "gpx": {"time": "time", "ele": "ele", "hr": "hr", "cad": "cad", "speed": "speed"},
    "tcx": {
        "Time": "time",
        "AltitudeMeters": "ele",
        "LatitudeDegrees": "lat",
        "LongitudeDegrees": "lon",
        "Value": "hr",  # inside HeartRateBpm
        "Cadence": "cad",
        "RunCadence": "cad",
        "Speed": "speed",
    },
}
_ROOT = {"gpx": "gpx", "TrainingCenterDatabase": "tcx"}


def parse_time(text: str) -> dt.datetime | None:
    """An ISO 8601 time as UTC; a time without a zone is taken as UTC, as GPX says."""
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        return None


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return None


class _Reader:
    def __init__(self) -> None:
        self.format = ""
        self.depth = 0
        self.point: dict[str, str] | None = None
        self.key: str | None = None
        self.text: list[str] = []
        self.parsed: ParsedActivity | None = None
        self.name_depth: int | None = None
        self.meta = "name"
        self.sport = ""
        self.count = 0

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        name = tag.rpartition(" ")[2]
        self.depth += 1
        if self.depth == 1:
            if name not in _ROOT:
                raise ActivityFileError(f"Not a GPX or TCX file: the document is <{name[:30]}>")
            self.format = _ROOT[name]
            self.parsed = ParsedActivity(format=self.format)
        if name == _POINT[self.format]:
            self.count += 1
            if self.count > MAX_SAMPLES:
                raise ActivityFileError(f"The file has more than {MAX_SAMPLES:,} points")
            self.point = {k: v for k, v in attrs.items() if k in ("lat", "lon")}
        elif self.point is not None and name in _VALUES[self.format]:
            self.key, self.text = _VALUES[self.format][name], []
        elif name == "Activity" and "Sport" in attrs:
            self.sport = attrs["Sport"][:30]
        elif name in ("name", "type") and self.point is None and self.depth <= 3:
            self.name_depth, self.meta, self.text = self.depth, name, []

    def end(self, tag: str) -> None:
        name = tag.rpartition(" ")[2]
        if self.point is not None and self.key is not None:
            self.point.setdefault(self.key, "".join(self.text))
            self.key = None
        elif self.name_depth == self.depth and self.parsed is not None:
            text = " ".join("".join(self.text).split())
            if self.meta == "type":  # GPX's <trk><type>: the sport
                self.sport = self.sport or text[:30]
            else:
                self.parsed.name = self.parsed.name or text[:200]
            self.name_depth = None
        if name == _POINT.get(self.format) and self.point is not None:
            self._add(self.point)
            self.point = None
        self.depth -= 1

    def _add(self, values: dict[str, str]) -> None:
        time = parse_time(values.get("time", ""))
        if time is None or self.parsed is None:
            return  # a route point or a point without a readable time: not a sample
        lat, lon = valid_position(_number(values.get("lat")), _number(values.get("lon")))
        self.parsed.samples.append(
            Sample(
                time=time,
                lat=lat,
                lon=lon,
                ele=in_range(_number(values.get("ele")), ELEVATION_RANGE_M),
                hr=in_range(_number(values.get("hr")), HEART_RATE_RANGE),
                cad=in_range(_number(values.get("cad")), CADENCE_RANGE),
                speed=in_range(_number(values.get("speed")), (0.0, SPEED_MAX)),
            )
        )

    def chars(self, data: str) -> None:
        if self.key is not None or self.name_depth is not None:
            self.text.append(data)


def read_xml_activity(raw: bytes) -> ParsedActivity:
    """The samples of a GPX or TCX file; raises ``ActivityFileError`` with a reason."""
    reader = _Reader()
    try:
        parse_without_dtd(raw, start=reader.start, end=reader.end, chars=reader.chars)
    except DTDRefusedError:
        raise ActivityFileError("Activity files must not contain a DTD (<!DOCTYPE …>)") from None
    except expat.ExpatError as exc:
        raise ActivityFileError(
            f"Not a valid GPX or TCX file: {expat.errors.messages[exc.code]} "
            f"(line {exc.lineno}, column {exc.offset})"
        ) from None
    except (LookupError, UnicodeError) as exc:
        raise ActivityFileError(f"Cannot read the file's encoding ({exc})") from None
    if reader.parsed is None:
        raise ActivityFileError("Not a GPX or TCX file")
    reader.parsed.sport = reader.sport
    return reader.parsed
