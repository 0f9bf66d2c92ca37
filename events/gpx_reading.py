"""Reading uploaded GPX files safely: bytes in any XML encoding, no DTD, tracks and routes.

gpxpy is not used to read uploads: it decodes bytes as UTF-8 only, runs regular
expressions over the whole text that take quadratic time on crafted input (48 KB
of ``" xmlns"`` takes 0.3 s, 5 MB would take an hour) and lets a DTD's entities
expand. Expat, fed the bytes, reads the encoding from the BOM or the XML
declaration as XML says; a DTD is refused (GPX never needs one, and that closes
entity bombs and external entities as defusedxml's ``forbid_dtd`` does); the
points are taken while streaming, so a file never becomes a tree in memory.
"""

from __future__ import annotations

import codecs
import math
import re
from dataclasses import dataclass, field
from xml.parsers import expat

from pace.lib.safexml import DTDRefusedError, parse_without_dtd

# A 30-hour ultra recorded every second has 108,000 points; more is not a course.
MAX_POINTS = 200_000
# More waypoints than this is a list of places, not a course's split points.
MAX_WAYPOINTS = 100
# Tracks, routes and track segments together: a recording paused every kilometre of
# an ultra has a few hundred; more is a file made to be slow to draw.
MAX_PARTS = 1_000
NAME_MAX_CHARS = 100
# Lower than the Dead Sea shore or higher than Everest: a device's "no value" marker.
ELEVATION_RANGE_M = (-500.0, 9000.0)

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_XML_DECL = re.compile(r"^<\?xml[^>]*\?>")
UTF8_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'


# Element paths by local name: GPX 1.0, 1.1 and files without a namespace read alike,
# and anything inside <extensions> (Garmin, Strava, OsmAnd) is never taken for GPX data.
_TRACK = ("gpx", "trk")
_SEGMENT = ("gpx", "trk", "trkseg")
_ROUTE = ("gpx", "rte")
_WAYPOINT = ("gpx", "wpt")
_POINTS = (("gpx", "trk", "trkseg", "trkpt"), ("gpx", "rte", "rtept"), _WAYPOINT)
# Elements whose <name> (and, for points, <ele>) is read; GPX 1.0 names the file at the top.
_NAMED = (*_POINTS, _TRACK, _ROUTE, ("gpx",), ("gpx", "metadata"))


class GPXReadError(ValueError):
    """A file that is not a readable GPX; the message is shown to the organizer."""


@dataclass
class Point:
    lat: float
    lon: float
    ele: float | None


@dataclass
class Piece:
    """One track (its segments) or one route (a single segment) of a GPX file."""

    kind: str  # "track" or "route"
    name: str = ""
    segments: list[list[Point]] = field(default_factory=list)

    @property
    def point_count(self) -> int:
        return sum(len(s) for s in self.segments)


@dataclass
class GPXContent:
    name: str
    pieces: list[Piece]
    waypoints: list[tuple[str, Point]]
    text: str  # the file as UTF-8 text with a matching declaration, for download


def clean_name(raw: str, *, limit: int = NAME_MAX_CHARS) -> str:
    """A name from a file as one line of plain text: no control characters, trimmed."""
    return " ".join(_CONTROL.sub(" ", raw).split())[:limit].strip()


def _coordinate(attrs: dict[str, str], key: str, bound: float) -> float:
    try:
        value = float(attrs[key])
    except KeyError:
        raise GPXReadError(f"GPX has a point without {key}") from None
    except ValueError:
        raise GPXReadError(
            f"GPX has a point with a non-numeric {key}: {attrs[key][:30]!r}"
        ) from None
    if not math.isfinite(value):
        raise GPXReadError(f"GPX has a point with a non-numeric {key}")
    if not -bound <= value <= bound:
        raise GPXReadError(f"GPX has a point outside the globe ({key} {value})")
    return value


def _elevation(text: str) -> float | None:
    """Metres, or None for missing, unreadable, NaN or impossible values."""
    try:
        value = float(text)
    except ValueError:
        return None
    low, high = ELEVATION_RANGE_M
    return value if math.isfinite(value) and low <= value <= high else None


class _Reader:
    """Expat handlers that collect pieces and waypoints while the bytes stream by."""

    def __init__(self) -> None:
        self.stack: list[str] = []
        self.pieces: list[Piece] = []
        self.waypoints: list[tuple[str, Point]] = []
        self.file_name = ""
        self.point: Point | None = None
        self.point_name = ""
        self.text: list[str] | None = None
        self.count = 0
        self.parts = 0
        self.encoding: str | None = None

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        name = tag.rpartition(" ")[2]
        if not self.stack and name != "gpx":
            raise GPXReadError(f"Not a GPX file: the document is <{name[:30]}>, not <gpx>")
        self.stack.append(name)
        path = tuple(self.stack)
        if path in (_TRACK, _ROUTE, _SEGMENT):
            self.parts += 1
            if self.parts > MAX_PARTS:
                raise GPXReadError(f"GPX has more than {MAX_PARTS:,} tracks, routes and segments")
        if path == _TRACK:
            self.pieces.append(Piece(kind="track"))
        elif path == _ROUTE:
            self.pieces.append(Piece(kind="route", segments=[[]]))
        elif path == _SEGMENT:
            self.pieces[-1].segments.append([])
        elif path in _POINTS:
            self.count += 1
            if self.count > MAX_POINTS:
                raise GPXReadError(f"GPX has more than {MAX_POINTS:,} points")
            lat = _coordinate(attrs, "lat", 90)
            self.point = Point(lat=lat, lon=_coordinate(attrs, "lon", 180), ele=None)
            self.point_name = ""
        elif path[:-1] in _NAMED and name in ("ele", "name"):
            self.text = []

    def end(self, tag: str) -> None:
        path = tuple(self.stack)
        self.stack.pop()
        if self.text is not None and path[:-1] in _NAMED:
            self._field(path, "".join(self.text))
            self.text = None
        elif path in _POINTS and self.point is not None:
            if path == _WAYPOINT:
                self._waypoint(self.point)
            else:
                self.pieces[-1].segments[-1].append(self.point)
            self.point = None

    def _field(self, path: tuple[str, ...], text: str) -> None:
        name = path[-1]
        if name == "ele" and self.point is not None and path[:-1] in _POINTS:
            self.point.ele = _elevation(text)
        elif name == "name" and path[:-1] in _POINTS:
            self.point_name = clean_name(text)
        elif name == "name" and path[:-1] in (_TRACK, _ROUTE):
            self.pieces[-1].name = clean_name(text, limit=200)
        elif name == "name" and not self.file_name:
            self.file_name = clean_name(text, limit=200)

    def _waypoint(self, point: Point) -> None:
        if len(self.waypoints) >= MAX_WAYPOINTS:
            raise GPXReadError(
                f"GPX has more than {MAX_WAYPOINTS} waypoints; keep only the course's"
                " split points (aid stations, timing mats)"
            )
        # Split point names are unique per course: RideWithGPS cues repeat "Left", "Right".
        base = self.point_name or "Waypoint"
        taken = {name for name, _ in self.waypoints}
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base[: NAME_MAX_CHARS - 5]} ({n})"
        self.waypoints.append((name, point))

    def chars(self, data: str) -> None:
        if self.text is not None:
            self.text.append(data)

    def xml_decl(self, version: str | None, encoding: str | None, standalone: int) -> None:
        self.encoding = encoding


def _parse(raw: bytes) -> _Reader:
    reader = _Reader()
    try:
        parse_without_dtd(
            raw, start=reader.start, end=reader.end, chars=reader.chars, xml_decl=reader.xml_decl
        )
    except DTDRefusedError:
        raise GPXReadError("GPX files must not contain a DTD (<!DOCTYPE …>)") from None
    except expat.ExpatError as exc:
        if _mislabelled_utf8(raw, reader.encoding):
            raise GPXReadError(
                f"GPX file is not valid UTF-8 text (line {exc.lineno}): save it as UTF-8, or"
                ' declare its encoding, as in <?xml version="1.0" encoding="ISO-8859-1"?>'
            ) from None
        raise GPXReadError(
            f"Not a valid GPX file: {expat.errors.messages[exc.code]} "
            f"(line {exc.lineno}, column {exc.offset})"
        ) from None
    except GPXReadError:
        raise
    except (LookupError, UnicodeError, ValueError) as exc:
        # An encoding Python knows but expat cannot stream (multi-byte, like Shift_JIS).
        raise GPXReadError(f"Not a valid GPX file: cannot read its encoding ({exc})") from None
    return reader


def _mislabelled_utf8(raw: bytes, declared: str | None) -> bool:
    """A file read as UTF-8 (declared so, or not declared) whose bytes are not: often Latin-1."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, b"<\x00", b"\x00<")):
        return False
    if declared is not None and codecs.lookup(declared).name != "utf-8":
        return False
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _as_text(raw: bytes, declared: str | None) -> str:
    """The file as text, with its declaration saying UTF-8 (how it is stored and served)."""
    if raw.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif raw.startswith(b"<\x00"):
        encoding = "utf-16-le"
    elif raw.startswith(b"\x00<"):
        encoding = "utf-16-be"
    else:
        encoding = declared or "utf-8"
    try:
        text = raw.decode(encoding)
    except (LookupError, UnicodeError) as exc:
        raise GPXReadError(f"GPX file is not valid {encoding} text") from exc
    return UTF8_DECLARATION + _XML_DECL.sub("", text.lstrip("\ufeff"))


def text_as_bytes(text: str) -> bytes:
    """A GPX already decoded to text, as UTF-8 bytes whose declaration says so."""
    return (UTF8_DECLARATION + _XML_DECL.sub("", text.lstrip("\ufeff"))).encode()


def read_gpx(raw: bytes) -> GPXContent:
    """The tracks, routes and waypoints of a GPX file; raises ``GPXReadError`` with a reason."""
    reader = _parse(raw)
    return GPXContent(
        name=reader.file_name,
        pieces=reader.pieces,
        waypoints=reader.waypoints,
        text=_as_text(raw, reader.encoding),
    )
