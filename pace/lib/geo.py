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


def simplify_indices(
    points: Sequence[Sequence[float]], tolerance_m: float, *, max_points: int = 10_000
) -> list[int]:
    """Indices of the ``[lon, lat, ...]`` points Ramer-Douglas-Peucker keeps within ``tolerance_m``.

    At most ``max_points`` (the tolerance doubles until so): a line is drawn on every
    event page. Iterative (a long zigzag would exceed Python's recursion limit), on a
    local flat projection (metres are exact enough between kept points), and with a
    budget: a real track costs about n·log2(n) distance checks, a crafted zigzag n²/2
    (20,000 points took 6 minutes), so past the budget evenly spaced points are kept.
    """
    n = len(points)
    if n < 3:
        return list(range(n))
    scale_x = 111_320.0 * math.cos(math.radians(points[0][1]))
    xs = [p[0] * scale_x for p in points]
    ys = [p[1] * 110_574.0 for p in points]
    budget = [30 * n + 10_000]
    tolerance = tolerance_m
    while True:
        keep = _douglas_peucker(xs, ys, tolerance, budget)
        if keep is None:
            step = -(-n // max(max_points - 1, 1))
            return sorted({*range(0, n, step), n - 1})
        if len(keep) <= max_points:
            return keep
        tolerance *= 2


def _douglas_peucker(
    xs: list[float], ys: list[float], tolerance: float, budget: list[int]
) -> list[int] | None:
    """Kept indices, or None once ``budget`` (distance checks left, shared) runs out."""
    n = len(xs)
    keep = [False] * n
    keep[0] = keep[-1] = True
    stack = [(0, n - 1)]
    while stack:
        first, last = stack.pop()
        if last - first < 2:
            continue
        budget[0] -= last - first - 1
        if budget[0] < 0:
            return None
        far, far_d = _farthest(xs, ys, first, last)
        if far_d > tolerance:
            keep[far] = True
            stack += [(first, far), (far, last)]
    return [i for i in range(n) if keep[i]]


def _farthest(xs: list[float], ys: list[float], first: int, last: int) -> tuple[int, float]:
    """The point between ``first`` and ``last`` farthest from the segment joining them.

    From the segment, not its infinite line: an out-and-back's turnaround lies on the
    line through its start and finish, and must not be dropped.
    """
    ax, ay = xs[first], ys[first]
    bx, by = xs[last], ys[last]
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    best, best_d2 = first + 1, -1.0
    for i in range(first + 1, last):
        px, py = xs[i] - ax, ys[i] - ay
        along = px * dx + py * dy
        if along <= 0 or length2 == 0:
            d2 = px * px + py * py
        elif along >= length2:
            qx, qy = xs[i] - bx, ys[i] - by
            d2 = qx * qx + qy * qy
        else:
            cross = px * dy - py * dx
            d2 = cross * cross / length2
        if d2 > best_d2:
            best, best_d2 = i, d2
    return best, math.sqrt(best_d2)
