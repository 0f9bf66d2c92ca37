"""Geodesy helpers on plain coordinates; no models here."""

from __future__ import annotations

import itertools
import math
from bisect import bisect_left
from collections.abc import Sequence

EARTH_RADIUS_M = 6_371_008.8


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two WGS84 points."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def cumulative_distances(points: Sequence[Sequence[float]]) -> list[float]:
    """Distance along a line of ``[lon, lat, ...]`` points, one value per point."""
    out = [0.0]
    for prev, cur in itertools.pairwise(points):
        out.append(out[-1] + haversine_m(prev[1], prev[0], cur[1], cur[0]))
    return out


def point_at_distance(
    points: Sequence[Sequence[float]], cumulative: Sequence[float], distance: float
) -> tuple[float, float]:
    """``(lon, lat)`` at ``distance`` metres along the line, linearly interpolated."""
    if not points:
        raise ValueError("empty line")
    if distance <= 0:
        return points[0][0], points[0][1]
    if distance >= cumulative[-1]:
        return points[-1][0], points[-1][1]
    i = bisect_left(cumulative, distance)
    d0, d1 = cumulative[i - 1], cumulative[i]
    f = 0.0 if d1 == d0 else (distance - d0) / (d1 - d0)
    a, b = points[i - 1], points[i]
    return a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f


def bounding_box(points: Sequence[Sequence[float]]) -> list[float]:
    """``[min_lon, min_lat, max_lon, max_lat]`` of a line."""
    lons = [p[0] for p in points]
    lats = [p[1] for p in points]
    return [min(lons), min(lats), max(lons), max(lats)]


def simplify_indices(points: Sequence[Sequence[float]], tolerance_m: float) -> list[int]:
    """Indices of the ``[lon, lat, ...]`` points Ramer-Douglas-Peucker keeps within ``tolerance_m``.

    Iterative (a long zigzag would exceed Python's recursion limit), on a local
    flat projection: metres are exact enough over the few km between kept points.
    """
    n = len(points)
    if n < 3:
        return list(range(n))
    scale_x = 111_320.0 * math.cos(math.radians(points[0][1]))
    xy = [(p[0] * scale_x, p[1] * 110_574.0) for p in points]
    keep = [False] * n
    keep[0] = keep[-1] = True
    stack = [(0, n - 1)]
    while stack:
        first, last = stack.pop()
        far, far_d = _farthest(xy, first, last)
        if far_d > tolerance_m:
            keep[far] = True
            stack += [(first, far), (far, last)]
    return [i for i in range(n) if keep[i]]


def _farthest(xy: Sequence[tuple[float, float]], first: int, last: int) -> tuple[int, float]:
    (ax, ay), (bx, by) = xy[first], xy[last]
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    best, best_d = first, 0.0
    for i in range(first + 1, last):
        px, py = xy[i]
        if length2 == 0:
            d = math.hypot(px - ax, py - ay)
        else:
            t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / length2))
            d = math.hypot(px - ax - t * dx, py - ay - t * dy)
        if d > best_d:
            best, best_d = i, d
    return best, best_d
