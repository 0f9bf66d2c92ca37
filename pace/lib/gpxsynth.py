"""Synthetic GPX courses for demo data, tests and benchmarks (no network, deterministic by seed)."""

from __future__ import annotations

import math
import random

import gpxpy.gpx

POINT_SPACING_M = 25.0


def synth_course_gpx(
    *, name: str, lat: float, lon: float, distance_m: float, shape: str, climb_m: float, seed: int
) -> str:
    """A GPX track of about ``distance_m`` starting at (lat, lon); shape: loop|out_back|a_to_b."""
    rng = random.Random(seed)
    # At most ~2,000 points: long courses get sparser points, as exported GPX files do.
    n = max(20, min(int(distance_m / POINT_SPACING_M), 2000))
    m_per_deg_lat = 111_320.0
    m_per_deg_lon = m_per_deg_lat * math.cos(math.radians(lat))
    wobble = [(rng.uniform(0.05, 0.18), rng.randint(3, 9), rng.uniform(0, 6.28)) for _ in range(3)]
    heading = rng.uniform(0, 2 * math.pi)
    if shape == "loop":
        # A wobbly circle whose perimeter is the distance, starting and ending at the start.
        radius = distance_m / (2 * math.pi * 1.08)
        offsets = []
        for i in range(n + 1):
            a = 2 * math.pi * i / n
            r = radius * (1 + sum(w * math.sin(k * a + ph) for w, k, ph in wobble) / 2)
            x, y = (
                r * math.cos(a + heading) - radius * math.cos(heading),
                r * math.sin(a + heading) - radius * math.sin(heading),
            )
            offsets.append((x, y))
    else:
        leg = distance_m / 2 if shape == "out_back" else distance_m
        steps = n // 2 if shape == "out_back" else n
        offsets, x, y, h = [(0.0, 0.0)], 0.0, 0.0, heading
        for i in range(steps):
            h = heading + 0.6 * math.sin(i / steps * 2 * math.pi * wobble[0][1] / 3)
            x, y = x + math.cos(h) * leg / steps, y + math.sin(h) * leg / steps
            offsets.append((x, y))
        if shape == "out_back":
            offsets += [(px + 8, py + 8) for px, py in reversed(offsets[:-1])]
    gpx = gpxpy.gpx.GPX()
    gpx.name = name
    track = gpxpy.gpx.GPXTrack(name=name)
    segment = gpxpy.gpx.GPXTrackSegment()
    base = rng.uniform(20, 600) if climb_m < 1500 else rng.uniform(800, 1200)
    total = len(offsets) - 1
    for i, (x, y) in enumerate(offsets):
        f = i / total
        ele = base + climb_m / 4 * (1 - math.cos(2 * math.pi * f * 2)) + 6 * math.sin(f * 60)
        segment.points.append(
            gpxpy.gpx.GPXTrackPoint(
                latitude=round(lat + y / m_per_deg_lat, 6),
                longitude=round(lon + x / m_per_deg_lon, 6),
                elevation=round(ele, 1),
            )
        )
    track.segments.append(segment)
    gpx.tracks.append(track)
    return gpx.to_xml()
