"""Courses from GPX files: parse, measure, simplify, and serve as GeoJSON or GPX."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import gpxpy
import gpxpy.gpx
from django.conf import settings
from django.db import transaction

from events.models import Course, Organizer, SplitPoint
from pace.lib.geo import bounding_box, cumulative_distances, point_at_distance

PROFILE_SAMPLES = 200
SIMPLIFY_TOLERANCE_M = 2.0


class CourseError(ValueError):
    """A GPX file that cannot become a course; the message is shown to the organizer."""


@dataclass
class ParsedCourse:
    line: list[list[float]]
    distance_m: float
    elevation_gain_m: float
    elevation_loss_m: float
    min_elevation_m: float | None
    max_elevation_m: float | None
    profile: list[list[float]]
    bbox: list[float]
    name: str = ""
    waypoints: list[tuple[str, float]] = field(default_factory=list)


def _load(data: bytes | str) -> gpxpy.gpx.GPX:
    raw = data.encode() if isinstance(data, str) else data
    if len(raw) > settings.MAX_GPX_BYTES:
        raise CourseError(f"GPX file is larger than {settings.MAX_GPX_BYTES // 1024 // 1024} MB")
    if not raw.strip():
        raise CourseError("GPX file is empty")
    try:
        return gpxpy.parse(raw.decode("utf-8-sig", errors="strict"))
    except UnicodeDecodeError as exc:
        raise CourseError("GPX file is not UTF-8 text") from exc
    except (gpxpy.gpx.GPXException, ValueError) as exc:
        raise CourseError(f"Not a valid GPX file: {exc}") from exc


def _points(gpx: gpxpy.gpx.GPX) -> list[Any]:
    """All track points in order; a route's points when the file has no track."""
    points = [p for t in gpx.tracks for s in t.segments for p in s.points]
    if not points:
        points = [p for r in gpx.routes for p in r.points]
    return points


def _validate(points: list[Any]) -> None:
    if len(points) < 2:
        raise CourseError("GPX has no track points" if not points else "GPX has only one point")
    for p in points:
        lat, lon = p.latitude, p.longitude
        if not (math.isfinite(lat) and math.isfinite(lon)):
            raise CourseError("GPX has a point with a non-numeric coordinate")
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise CourseError(f"GPX has a point outside the globe: {lat}, {lon}")


def _as_line(points: list[Any]) -> list[list[float]]:
    line = []
    for p in points:
        ele = p.elevation if p.elevation is not None and math.isfinite(p.elevation) else None
        line.append([round(p.longitude, 6), round(p.latitude, 6), ele])
    return line


def _climb(line: list[list[float]]) -> tuple[float, float]:
    """Gain and loss in metres, ignoring wiggles under 3 m (barometric/GPS noise)."""
    gain = loss = 0.0
    ref: float | None = None
    for _, _, ele in line:
        if ele is None:
            continue
        if ref is None:
            ref = ele
        elif ele - ref >= 3:
            gain, ref = gain + ele - ref, ele
        elif ref - ele >= 3:
            loss, ref = loss + ref - ele, ele
    return gain, loss


def _profile(line: list[list[float]], cumulative: list[float]) -> list[list[float]]:
    if all(p[2] is None for p in line):
        return []
    total = cumulative[-1]
    step = total / (PROFILE_SAMPLES - 1)
    out, j = [], 0
    for k in range(PROFILE_SAMPLES):
        d = k * step
        while j < len(cumulative) - 1 and cumulative[j + 1] < d:
            j += 1
        ele = line[j][2] if line[j][2] is not None else (line[j + 1][2] if j + 1 < len(line) else 0)
        out.append([round(d, 1), round(float(ele or 0), 1)])
    return out


def parse_gpx(data: bytes | str) -> ParsedCourse:
    """Measure a GPX file; raises ``CourseError`` with a reason a person can act on."""
    gpx = _load(data)
    points = _points(gpx)
    _validate(points)
    line = _as_line(points)
    cumulative = cumulative_distances(line)
    if cumulative[-1] < 10:
        raise CourseError("GPX track is shorter than 10 m")
    gain, loss = _climb(line)
    elevations = [p[2] for p in line if p[2] is not None]
    waypoints = []
    for w in gpx.waypoints:
        nearest = min(
            range(len(line)),
            key=lambda i, w=w: (line[i][0] - w.longitude) ** 2 + (line[i][1] - w.latitude) ** 2,
        )
        waypoints.append(((w.name or "Waypoint")[:100], round(cumulative[nearest], 1)))
    # gpxpy's Ramer-Douglas-Peucker keeps the shape with far fewer points to store and draw.
    gpx.simplify(max_distance=SIMPLIFY_TOLERANCE_M)
    simplified = _as_line(_points(gpx))
    return ParsedCourse(
        line=simplified if len(simplified) >= 2 else line,
        distance_m=round(cumulative[-1], 1),
        elevation_gain_m=round(gain, 1),
        elevation_loss_m=round(loss, 1),
        min_elevation_m=min(elevations) if elevations else None,
        max_elevation_m=max(elevations) if elevations else None,
        profile=_profile(line, cumulative),
        bbox=bounding_box(line),
        name=(gpx.name or (gpx.tracks[0].name if gpx.tracks else "") or "")[:200],
        waypoints=waypoints,
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
def course_create(*, organizer: Organizer, gpx_data: bytes | str, name: str = "") -> Course:
    """Create a course from a GPX file, with its split points."""
    parsed = parse_gpx(gpx_data)
    raw = gpx_data.decode("utf-8-sig") if isinstance(gpx_data, bytes) else gpx_data
    course = Course(organizer=organizer, name=name or parsed.name or "Course", gpx=raw)
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
