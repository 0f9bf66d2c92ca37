"""Projection of GPS fixes onto a course: distance along it, off-course distance.

A course may loop or come back on itself (out-and-back), so the nearest point
of the whole line is often the wrong one: a fix is matched within a window
ahead of the athlete's previous projection (a little behind, for GPS noise),
and only falls back to the whole line when nothing in the window is close.
"""

from __future__ import annotations

import itertools
import math
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from pace.lib.geo import cumulative_distances

BEHIND_M = 150.0
AHEAD_M = 1500.0
NEAR_M = 120.0


@dataclass(frozen=True)
class Projection:
    distance: float  # metres along the course
    off_course: float  # metres from the line


class CourseLine:
    """A course prepared for fast projection (local flat coordinates, cumulative distances)."""

    def __init__(self, points: Sequence[Sequence[float]], official_distance: float | None = None):
        if len(points) < 2:
            raise ValueError("a course needs at least two points")
        self.lat0 = math.radians(sum(p[1] for p in points) / len(points))
        self.kx = 111_320.0 * math.cos(self.lat0)
        self.ky = 110_540.0
        self.xy = [(p[0] * self.kx, p[1] * self.ky) for p in points]
        cumulative = cumulative_distances(points)
        # Scale to the official distance so progress and ETA match what athletes are told.
        scale = (official_distance / cumulative[-1]) if official_distance else 1.0
        self.cumulative = [d * scale for d in cumulative]
        self.length = self.cumulative[-1]
        self.scale = scale
        self.seg = [
            (bx - ax, by - ay, (bx - ax) ** 2 + (by - ay) ** 2)
            for (ax, ay), (bx, by) in itertools.pairwise(self.xy)
        ]

    def _best(self, lo: int, hi: int, x: float, y: float) -> tuple[float, float]:
        """(squared distance, along) of the nearest point of segments lo..hi-1.

        The hot loop of the ticker (once per fix): plain locals, no calls.
        """
        xy, seg, cumulative = self.xy, self.seg, self.cumulative
        best_d2, best_i, best_f = math.inf, lo, 0.0
        for i in range(lo, hi):
            ax, ay = xy[i]
            dx, dy, seg2 = seg[i]
            f = 0.0 if seg2 == 0 else ((x - ax) * dx + (y - ay) * dy) / seg2
            f = 0.0 if f < 0 else 1.0 if f > 1 else f
            px, py = ax + f * dx - x, ay + f * dy - y
            d2 = px * px + py * py
            if d2 < best_d2:
                best_d2, best_i, best_f = d2, i, f
        if best_d2 == math.inf:
            return best_d2, 0.0
        along = cumulative[best_i] + best_f * (cumulative[best_i + 1] - cumulative[best_i])
        return best_d2, along

    def project(
        self, lat: float, lon: float, previous: float | None = None, ahead: float = AHEAD_M
    ) -> Projection:
        """Where a fix is on the course, preferring the stretch just ahead of ``previous``
        (up to ``ahead`` metres: as far as the athlete could have gone since then)."""
        x, y = lon * self.kx, lat * self.ky
        last = len(self.xy) - 1
        if previous is not None:
            lo = max(0, bisect_left(self.cumulative, previous - BEHIND_M) - 1)
            hi = min(last, bisect_right(self.cumulative, previous + min(ahead, AHEAD_M)) + 1)
            d2, along = self._best(lo, hi, x, y)
            if math.sqrt(d2) <= NEAR_M:
                return Projection(distance=along, off_course=math.sqrt(d2))
        d2, along = self._best(0, last, x, y)
        if previous is not None and along < previous - BEHIND_M:
            # Never jump backwards on a crossing loop: stay where the athlete was.
            along = previous
        return Projection(distance=along, off_course=math.sqrt(d2))
