"""The simulated athletes' bodies: a course walked by distance, and how each one moves.

Believable paces by sport, fatigue, GPS noise, stops, drop-outs, signal gaps and a
post now and then; real seconds unless said.
"""

from __future__ import annotations

import itertools
import math
import random
import time
from bisect import bisect_right
from dataclasses import dataclass
from typing import Any

from tracking.sim.roster import SimAthlete

EARTH_M = 6_371_000.0
# Median speeds (m/s) by sport: about 5:45/km running, 7:30/km trail, 29 km/h cycling.
SPORT_SPEED = {"running": 2.9, "trail": 2.2, "cycling": 8.0, "triathlon": 3.2}
POSTS = [
    "Feeling great, legs are fresh!",
    "Halfway there, all good.",
    "Thanks for the cheers at the aid station!",
    "Hot out here, drinking at every station.",
    "That hill was brutal.",
    "Pacing with a friend, all good.",
    "Last few km, let's go!",
]


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_M * math.asin(math.sqrt(min(1.0, h)))


class Course:
    """A course line walked by distance (official metres, scaled onto the drawn line)."""

    def __init__(self, points: list[tuple[float, float]], official: float | None = None) -> None:
        if len(points) < 2:
            raise ValueError("a course needs at least two points")
        self.points = points
        self.cumulative = [0.0]
        for a, b in itertools.pairwise(points):
            self.cumulative.append(self.cumulative[-1] + _metres(a, b))
        self.line_length = self.cumulative[-1]
        self.length = official or self.line_length

    @classmethod
    def from_geojson(cls, feature: dict[str, Any]) -> Course:
        coords = feature["geometry"]["coordinates"]
        official = (feature.get("properties") or {}).get("distance")
        return cls([(c[1], c[0]) for c in coords], official)

    def at(self, distance: float) -> tuple[float, float]:
        d = max(0.0, min(distance, self.length)) * self.line_length / self.length
        i = min(bisect_right(self.cumulative, d), len(self.points) - 1)
        d0, d1 = self.cumulative[i - 1], self.cumulative[i]
        f = 0.0 if d1 <= d0 else (d - d0) / (d1 - d0)
        (lat0, lon0), (lat1, lon1) = self.points[i - 1], self.points[i]
        return lat0 + (lat1 - lat0) * f, lon0 + (lon1 - lon0) * f


# --- one athlete's body: where it is --------------------------------------------------------
@dataclass
class Runner:
    """How one simulated athlete moves: pace, fate, signal gaps. Real seconds unless said."""

    athlete: SimAthlete
    course: Course
    rng: random.Random
    speed: float  # m/s in race time
    delay: float  # race seconds after the gun
    dnf_at: float | None = None  # metres
    stop_at: float | None = None  # metres
    stop_for: float = 0.0
    post_at: float | None = None
    hr_base: float | None = None
    distance: float = 0.0
    stopped_until: float = 0.0
    finished_at: float | None = None
    out: bool = False
    offline_until: float = 0.0
    next_gap: float = math.inf
    posted: bool = False
    detour_at: float | None = None  # metres: from here on it runs ``detour_m`` off the course
    detour_m: float = 0.0

    @classmethod
    def make(cls, athlete: SimAthlete, course: Course, sport: str, rng: random.Random) -> Runner:
        median = SPORT_SPEED.get(sport, SPORT_SPEED["running"])
        runner = cls(
            athlete=athlete,
            course=course,
            rng=rng,
            speed=min(median * 2.1, max(median * 0.45, rng.lognormvariate(math.log(median), 0.16))),
            delay=rng.uniform(0, 45),
            hr_base=rng.uniform(140, 165) if rng.random() < 0.6 else None,
        )
        fate = rng.random()
        if fate < 0.04:
            runner.dnf_at = rng.uniform(0.15, 0.85) * course.length
        elif fate < 0.09:
            runner.stop_at = rng.uniform(0.1, 0.9) * course.length
            runner.stop_for = rng.uniform(150, 300)
        if rng.random() < 0.35:
            runner.next_gap = time.time() + rng.uniform(15, 240)
        if rng.random() < 0.3:
            runner.post_at = rng.uniform(0.1, 0.9) * course.length
        return runner

    def send_off_course(self, *, at_m: float, by_m: float) -> None:
        """From ``at_m`` metres on, run ``by_m`` metres north of the course, with no other
        fate (no stop, no drop-out, no signal gap): race control must see it."""
        self.detour_at, self.detour_m = at_m, by_m
        self.dnf_at = self.stop_at = None
        self.next_gap = math.inf

    @property
    def done(self) -> bool:
        return self.out or (self.finished_at is not None and time.time() - self.finished_at > 15)

    def advance(self, now: float, race_seconds: float) -> None:
        """Move on by ``race_seconds`` of race time (0 while standing)."""
        if self.out or self.finished_at is not None or now < self.stopped_until:
            return
        fatigue = 1.0 - 0.06 * self.distance / self.course.length
        self.distance += self.speed * fatigue * self.rng.uniform(0.93, 1.07) * race_seconds
        if self.stop_at is not None and self.distance >= self.stop_at:
            self.stopped_until, self.stop_at = now + self.stop_for, None
        if self.dnf_at is not None and self.distance >= self.dnf_at:
            self.out = True
        if self.distance >= self.course.length:
            self.distance, self.finished_at = self.course.length, now

    def fix(self, now: float) -> dict[str, Any]:
        lat, lon = self.course.at(self.distance)
        north, east = self.rng.gauss(0, 3.0), self.rng.gauss(0, 3.0)
        if self.detour_at is not None and self.distance >= self.detour_at:
            north += self.detour_m  # lost its way: a parallel track, off the course
        lat += math.degrees(north / EARTH_M)
        lon += math.degrees(east / (EARTH_M * math.cos(math.radians(lat))))
        moving = self.finished_at is None and now >= self.stopped_until and not self.out
        point: dict[str, Any] = {
            "t": round(now, 3), "lat": round(lat, 7), "lon": round(lon, 7),
            "acc": round(self.rng.uniform(3, 12), 1),
            "spd": round(self.speed * self.rng.uniform(0.9, 1.1), 2) if moving else 0.0,
        }  # fmt: skip
        if self.hr_base is not None:
            point["hr"] = round(self.hr_base + 15 * self.distance / self.course.length)
        return point

    def offline(self, now: float) -> bool:
        """In a signal gap now? Gaps of 30 to 120 s come every few minutes for some athletes."""
        if now >= self.next_gap:
            self.offline_until = now + self.rng.uniform(30, 120)
            self.next_gap = self.offline_until + self.rng.uniform(180, 900)
        return now < self.offline_until

    def post(self) -> str | None:
        if self.post_at is None or self.posted or self.distance < self.post_at:
            return None
        self.posted = True
        return self.rng.choice(POSTS)
