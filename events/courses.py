"""Courses from GPX files: parse, measure, simplify, and serve as GeoJSON or GPX."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any, cast

from django.conf import settings
from django.db import transaction

from events.gpx_reading import GPXContent, GPXReadError, Piece, read_gpx, text_as_bytes
from events.models import Course, Organizer, SplitPoint
from pace.lib.geo import bounding_box, cumulative_distances, point_at_distance, simplify_indices

PROFILE_SAMPLES = 200
SIMPLIFY_TOLERANCE_M = 2.0
# The line every event page draws: a 100 km trail at 2 m holds a few thousand points.
MAX_LINE_POINTS = 10_000


class CourseError(ValueError):
    """A GPX file that cannot become a course; the message is shown to the organizer."""


@dataclass
class TrackChoice:
    """A track or route of a GPX file an organizer may pick, as the admin lists it."""

    index: int
    kind: str
    name: str
    distance_m: float

    @property
    def label(self) -> str:
        name = self.name or f"{self.kind.capitalize()} {self.index + 1}"
        return f"{self.index + 1}. {name} ({self.kind}, {self.distance_m / 1000:.2f} km)"


@dataclass
class ParsedCourse:
    line: list[list[float | None]]
    distance_m: float
    elevation_gain_m: float
    elevation_loss_m: float
    min_elevation_m: float | None
    max_elevation_m: float | None
    profile: list[list[float]]
    bbox: list[float]
    name: str = ""
    waypoints: list[tuple[str, float]] = field(default_factory=list)
    tracks: list[TrackChoice] = field(default_factory=list)
    track: int = 0
    gpx_text: str = ""


def _load(data: bytes | str) -> GPXContent:
    if not data.strip():
        raise CourseError("GPX file is empty")
    raw = text_as_bytes(data) if isinstance(data, str) else data
    if len(raw) > settings.MAX_GPX_BYTES:
        raise CourseError(f"GPX file is larger than {settings.MAX_GPX_BYTES // 1024 // 1024} MB")
    try:
        return read_gpx(raw)
    except GPXReadError as exc:
        raise CourseError(str(exc)) from None


def _segment_lengths(piece: Piece) -> float:
    total = 0.0
    for segment in piece.segments:
        total += cumulative_distances([[p.lon, p.lat] for p in segment])[-1] if segment else 0.0
    return total


def track_choices(content: GPXContent) -> list[TrackChoice]:
    """Every track and route of a file with at least two points, with its length."""
    return [
        TrackChoice(index=i, kind=piece.kind, name=piece.name, distance_m=_segment_lengths(piece))
        for i, piece in enumerate(content.pieces)
        if piece.point_count >= 2
    ]


def _choose(content: GPXContent, track: int | None) -> tuple[list[TrackChoice], TrackChoice]:
    """The asked track or route, else the longest: several tracks are not one course."""
    choices = track_choices(content)
    if not choices:
        points = sum(piece.point_count for piece in content.pieces)
        if points == 1:
            raise CourseError("GPX has only one point")
        if content.waypoints:
            raise CourseError(
                "GPX has only waypoints, no track or route: export the course as a track"
            )
        raise CourseError("GPX has no track points")
    if track is None:
        return choices, max(choices, key=lambda c: c.distance_m)
    for choice in choices:
        if choice.index == track:
            return choices, choice
    raise CourseError(f"GPX has no track number {track + 1}")


@dataclass
class _Measured:
    """A piece's points as one line, with distances that skip the jumps between segments."""

    line: list[list[float | None]]
    along: list[float]
    starts: list[int]  # index of each segment's first point in ``line``


def _measure(piece: Piece) -> _Measured:
    line: list[list[float | None]] = []
    along: list[float] = []
    starts: list[int] = []
    for segment in piece.segments:
        if not segment:
            continue
        starts.append(len(line))
        part = [[round(p.lon, 6), round(p.lat, 6), p.ele] for p in segment]
        offset = along[-1] if along else 0.0
        # It reads only lon and lat, never None (an elevation may be).
        along += [offset + d for d in cumulative_distances(cast("list[list[float]]", part))]
        line += part
    return _Measured(line=line, along=along, starts=starts)


def _fill_elevations(line: list[list[float | None]], along: list[float]) -> None:
    """Points without elevation between two with one get it interpolated by distance.

    Before the first and after the last known elevation nothing is made up: those
    points stay without (never 0 m, which would draw cliffs and count fake climb).
    """
    known = [i for i, p in enumerate(line) if p[2] is not None]
    for a, b in itertools.pairwise(known):
        ea, eb = float(line[a][2]), float(line[b][2])  # type: ignore[arg-type]
        span = along[b] - along[a]
        for i in range(a + 1, b):
            f = (along[i] - along[a]) / span if span else 0.0
            line[i][2] = round(ea + (eb - ea) * f, 1)


def _climb(line: list[list[float | None]], starts: list[int]) -> tuple[float, float]:
    """Gain and loss in metres, ignoring wiggles under 3 m (barometric/GPS noise).

    Each segment starts afresh: the height between one segment's end and the next
    one's start is a jump, not a climb.
    """
    gain = loss = 0.0
    ref: float | None = None
    segment_starts = set(starts)
    for i, (_, _, ele) in enumerate(line):
        if i in segment_starts:
            ref = None
        if ele is None:
            continue
        if ref is None:
            ref = ele
        elif ele - ref >= 3:
            gain, ref = gain + ele - ref, ele
        elif ref - ele >= 3:
            loss, ref = loss + ref - ele, ele
    return gain, loss


def _profile(line: list[list[float | None]], along: list[float]) -> list[list[float]]:
    """Elevation every 1/200 of the course; distances without a known elevation are left out."""
    total = along[-1]
    step = total / (PROFILE_SAMPLES - 1)
    out, j = [], 0
    for k in range(PROFILE_SAMPLES):
        d = min(k * step, total)
        while j < len(along) - 2 and along[j + 1] < d:
            j += 1
        a, b = line[j][2], line[j + 1][2]
        if a is None or b is None:
            continue
        span = along[j + 1] - along[j]
        ele = a + (b - a) * ((d - along[j]) / span if span else 0.0)
        out.append([round(d, 1), round(float(ele), 1)])
    return out


def _simplified(measured: _Measured) -> list[int]:
    """Indices of the points kept: each segment on its own, so a jump stays a jump.

    The line is served on every event page: its points are shared out between
    segments (a file of thousands of tiny segments is refused before this).
    """
    ends = [*measured.starts[1:], len(measured.line)]
    share = max(MAX_LINE_POINTS // len(measured.starts), 2)
    keep: list[int] = []
    for start, end in zip(measured.starts, ends, strict=True):
        part = measured.line[start:end]
        kept = simplify_indices(part, SIMPLIFY_TOLERANCE_M, max_points=share)  # type: ignore[arg-type]
        keep += [start + i for i in kept]
    return keep


def _waypoint_distances(
    content: GPXContent, line: list[list[float | None]], along: list[float], keep: list[int]
) -> list[tuple[str, float]]:
    """Each waypoint at the distance of its projection on the nearest part of the line.

    Projected on the simplified line (at most ``MAX_LINE_POINTS`` parts, not every
    recorded point) so 100 waypoints cost little even on a 200,000-point track.
    """
    scale_x = math.cos(math.radians(float(line[0][1])))  # type: ignore[arg-type]
    xy = [(float(line[i][0]) * scale_x, float(line[i][1])) for i in keep]  # type: ignore[arg-type]
    out = []
    for name, w in content.waypoints:
        px, py = w.lon * scale_x, w.lat
        best = (math.inf, 0.0)
        for k in range(len(keep) - 1):
            (ax, ay), (bx, by) = xy[k], xy[k + 1]
            dx, dy = bx - ax, by - ay
            length2 = dx * dx + dy * dy
            t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / length2)) if length2 else 0.0
            gap = (px - ax - t * dx) ** 2 + (py - ay - t * dy) ** 2
            if gap < best[0]:
                start, end = along[keep[k]], along[keep[k + 1]]
                best = (gap, start + t * (end - start))
        out.append((name, round(best[1], 1)))
    return out


def parse_gpx(data: bytes | str, *, track: int | None = None) -> ParsedCourse:
    """Measure a GPX file's longest (or asked) track or route; ``CourseError`` says why not."""
    content = _load(data)
    choices, chosen = _choose(content, track)
    measured = _measure(content.pieces[chosen.index])
    line, along = measured.line, measured.along
    if along[-1] < 10:
        raise CourseError("GPX track is shorter than 10 m")
    _fill_elevations(line, along)
    gain, loss = _climb(line, measured.starts)
    keep = _simplified(measured)
    elevations = [p[2] for p in line if p[2] is not None]
    return ParsedCourse(
        line=[line[i] for i in keep],
        distance_m=round(along[-1], 1),
        elevation_gain_m=round(gain, 1),
        elevation_loss_m=round(loss, 1),
        min_elevation_m=min(elevations) if elevations else None,
        max_elevation_m=max(elevations) if elevations else None,
        profile=_profile(line, along) if elevations else [],
        bbox=bounding_box(line),  # type: ignore[arg-type]
        name=content.name or chosen.name,
        waypoints=_waypoint_distances(content, line, along, keep),
        tracks=choices,
        track=chosen.index,
        gpx_text=content.text,
    )


def course_track_choices(*, course: Course) -> list[TrackChoice]:
    """The tracks and routes of a course's stored GPX file, for the organizer to pick."""
    try:
        return track_choices(_load(course.gpx))
    except CourseError:
        return []


def track_choice_note(*, parsed: ParsedCourse) -> str:
    """Tells the organizer which of a file's several tracks became the course."""
    chosen = next(c for c in parsed.tracks if c.index == parsed.track)
    return (
        f"The GPX file has {len(parsed.tracks)} tracks and routes; the course follows"
        f" {chosen.label}. Choose another under Track; the others are not counted."
    )


def apply_parsed(course: Course, parsed: ParsedCourse) -> None:
    """Copy the measured values of a parsed GPX onto a course (not saved)."""
    course.line = parsed.line
    course.distance_m = parsed.distance_m
    course.elevation_gain_m = parsed.elevation_gain_m
    course.elevation_loss_m = parsed.elevation_loss_m
    course.min_elevation_m = parsed.min_elevation_m
    course.max_elevation_m = parsed.max_elevation_m
    course.profile = parsed.profile
    course.bbox = parsed.bbox
    course.gpx = parsed.gpx_text
    course.gpx_track = parsed.track


def default_split_points(distance_m: float) -> list[tuple[str, float]]:
    """Start, every whole 5 km (every 10 km past a half marathon, 20 km past 100 km), finish."""
    step = 5000 if distance_m <= 21100 else 10000 if distance_m <= 100_000 else 20000
    splits = [("Start", 0.0)]
    k = step
    while k < distance_m - step / 4:
        splits.append((f"{k // 1000} km", float(k)))
        k += step
    splits.append(("Finish", round(distance_m, 1)))
    return splits


def ensure_split_points(*, course: Course, parsed: ParsedCourse) -> None:
    """Give a course without split points those of its GPX waypoints, else the defaults."""
    if course.split_points.exists():
        return
    splits = dict(parsed.waypoints or default_split_points(parsed.distance_m))
    SplitPoint.objects.bulk_create(
        SplitPoint(course=course, name=name, distance_m=min(distance, parsed.distance_m))
        for name, distance in splits.items()
    )


@transaction.atomic
def course_create(
    *, organizer: Organizer, gpx_data: bytes | str, name: str = "", track: int | None = None
) -> Course:
    """Create a course from a GPX file's longest (or asked) track, with its split points."""
    parsed = parse_gpx(gpx_data, track=track)
    course = Course(organizer=organizer, name=name or parsed.name or "Course")
    apply_parsed(course, parsed)
    course.save()
    ensure_split_points(course=course, parsed=parsed)
    return course


def course_geojson(course: Course, split_points: list[SplitPoint]) -> dict[str, Any]:
    """The course as PROTOCOL.md says: a LineString Feature with distance and split points."""
    cumulative = cumulative_distances(course.line)
    scale = course.distance_m / cumulative[-1] if cumulative and cumulative[-1] else 1.0
    splits = []
    for sp in split_points:
        lon, lat = point_at_distance(course.line, cumulative, sp.distance_m / scale)
        splits.append(
            {"name": sp.name, "distance": sp.distance_m, "lat": round(lat, 6), "lon": round(lon, 6)}
        )
    return {
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": course.line},
        "properties": {
            "id": course.pk,
            "name": course.name,
            "distance": course.distance_m,
            "elevation_gain": course.elevation_gain_m,
            "elevation_loss": course.elevation_loss_m,
            "bbox": course.bbox,
            "split_points": splits,
        },
    }
