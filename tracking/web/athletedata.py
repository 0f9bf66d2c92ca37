"""One athlete's race so far, for the live page's athlete panel: charts and splits.

``GET /live/EVENT/RACE/athlete/ID.json``: the athlete's stored fixes projected onto the
course and downsampled (pace, heart rate and elevation along the course), the course's
elevation profile, the split crossings the ticker stored (``SplitCrossing``: results sits
above tracking, so not its results) and the athlete's visible posts. Read from the
database at most once per ``CACHE_SECONDS`` per athlete, whoever asks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from django.core.cache import cache

from events.models import Race, Registration
from pace.lib.geo import cumulative_distances
from tracking.fanout.posts import posts_version_key
from tracking.live.projection import CourseLine
from tracking.models import Position, Post, SplitCrossing

CACHE_SECONDS = 15
MAX_POINTS = 300  # chart points of an athlete's race
PROFILE_POINTS = 200  # points of the course's elevation profile
MAX_FIXES = 20_000  # read at most this many fixes of one athlete (hours at 1 a second)
PACE_WINDOW_M = 200.0  # pace over the last this many metres: GPS noise averaged out
STANDING_M = 5.0  # fixes this close along the course: standing (GPS jitter), not running
MAX_SPEED_MS = 40.0


def _profile(line: Sequence[Sequence[float]], scale: float) -> list[list[float]]:
    """``[[distance, ele], ...]`` of the course, at most PROFILE_POINTS."""
    if not line or len(line[0]) < 3:
        return []
    cumulative = cumulative_distances(line)
    step = max(1, math.ceil(len(line) / PROFILE_POINTS))
    picked = list(range(0, len(line), step))
    if picked[-1] != len(line) - 1:
        picked.append(len(line) - 1)
    out = []
    for i in picked:
        ele = line[i][2] if len(line[i]) > 2 else None
        if ele is not None:
            out.append([round(cumulative[i] * scale), round(float(ele), 1)])
    return out


def _elevation_at(profile: list[list[float]], distance: float) -> float | None:
    if not profile:
        return None
    lo, hi = 0, len(profile) - 1
    if distance <= profile[0][0]:
        return profile[0][1]
    if distance >= profile[hi][0]:
        return profile[hi][1]
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if profile[mid][0] <= distance:
            lo = mid
        else:
            hi = mid
    (d0, e0), (d1, e1) = profile[lo], profile[hi]
    f = 0.0 if d1 == d0 else (distance - d0) / (d1 - d0)
    return round(e0 + (e1 - e0) * f, 1)


def _track(
    fixes: list[tuple[float, float, float, float | None]], course: CourseLine | None, start: float
) -> list[tuple[float, float, float | None]]:
    """``(t, distance, hr)`` of each fix after the start, distance never decreasing: each
    projected ahead of the last, the first ahead of the start line, as the live engine
    does (on a loop the start is also the finish: a first fix there is at 0, not 10 km)."""
    out: list[tuple[float, float, float | None]] = []
    previous = 0.0
    last_t = start
    for t, lat, lon, hr in fixes:
        if t < start:
            continue
        if course is not None:
            reach = MAX_SPEED_MS * max(1.0, t - last_t)
            along = course.project(lat, lon, previous, ahead=reach).distance
            distance = max(previous, min(along, previous + reach))
        else:
            distance = 0.0
        out.append((t, distance, hr))
        previous, last_t = distance, t
    return out


def _downsampled(
    track: list[tuple[float, float, float | None]], start: float, profile: list[list[float]]
) -> list[list[Any]]:
    """``[[elapsed s, distance m, pace s/km, hr, ele], ...]``, at most MAX_POINTS: each
    point's pace over the last PACE_WINDOW_M (or the fix before), its hr averaged."""
    if not track:
        return []
    step = max(1, math.ceil(len(track) / MAX_POINTS))
    out: list[list[Any]] = []
    back = 0
    for i in range(0, len(track), step):
        t, d, _ = track[i]
        while back < i and d - track[back + 1][1] >= PACE_WINDOW_M:
            back += 1
        j = back if back < i else max(0, i - 1)
        # Standing where the window starts (on the start line before the gun or a wave's
        # start, at a drinks table) is not time spent on these metres: the window starts
        # as the athlete left, at the last fix within STANDING_M of where it starts. Else
        # the first 200 m read as an hour a kilometre and flattened the pace chart.
        here = track[j][1]
        while j + 1 < i and track[j + 1][1] - here < STANDING_M:
            j += 1
        t0, d0, _ = track[j]
        pace = round((t - t0) / ((d - d0) / 1000)) if d - d0 >= 10 and t > t0 else None
        if pace is not None and pace > 3600:
            pace = None  # slower than an hour a kilometre: standing
        chunk = [h for _, _, h in track[i : i + step] if h is not None]
        hr = round(sum(chunk) / len(chunk)) if chunk else None
        out.append([round(t - start), round(d), pace, hr, _elevation_at(profile, d)])
    return out


def athlete_race(*, race: Race, registration: Registration) -> dict[str, Any]:
    """The athlete panel's data (cached CACHE_SECONDS for everyone, and at once afresh
    when an organizer hides or shows one of the race's posts: ``posts_version_key``)."""
    version = cache.get(posts_version_key(race.pk), "")
    key = f"live-athlete:{race.pk}:{registration.pk}:{version}"
    cached = cache.get(key)
    if cached is not None:
        return dict(cached)
    start = race.start_time.timestamp()
    course_row = race.course
    course = None
    profile: list[list[float]] = []
    if course_row is not None and len(course_row.line) >= 2:
        course = CourseLine(
            course_row.line, official_distance=race.distance_m or course_row.distance_m
        )
        profile = _profile(course_row.line, course.scale)
    rows = (
        Position.objects.filter(race_id=race.pk, registration_id=registration.pk)
        .order_by("t")
        .values_list("t", "lat", "lon", "hr")[:MAX_FIXES]
    )
    fixes = [(t.timestamp(), lat, lon, hr) for t, lat, lon, hr in rows]
    points = _downsampled(_track(fixes, course, start), start, profile)
    splits = [
        {
            "point": c.point,
            "distance": round(c.distance_m),
            "time": round(c.time.timestamp() - start, 1),
            "rank": c.rank,
        }
        for c in SplitCrossing.objects.filter(
            race_id=race.pk, registration_id=registration.pk
        ).order_by("time")
    ]
    posts = [
        {"id": p.pk, "text": p.text, "t": p.created_at.timestamp()}
        for p in Post.objects.filter(
            race_id=race.pk, registration_id=registration.pk, hidden=False
        ).order_by("-created_at")[:20]
    ]
    data: dict[str, Any] = {
        "athlete": {"id": registration.pk, "bib": registration.bib, "name": registration.name},
        "start": start,
        "distance": round(course.length) if course else None,
        "points": points,
        "profile": profile,
        "splits": splits,
        "posts": posts,
    }
    cache.set(key, data, CACHE_SECONDS)
    return data


def spectator_roster(*, race_id: int) -> list[list[Any]]:
    """``[[id, bib, name, category code, sex], ...]`` of the race's confirmed athletes: the
    live page names field entries (ids only) from it, and filters the board by them."""
    rows = (
        Registration.objects.filter(race_id=race_id, status=Registration.Status.CONFIRMED)
        .select_related("category")
        .only("pk", "bib", "first_name", "last_name", "sex", "category__code")
        .order_by("pk")
    )
    return [[r.pk, r.bib, r.name, r.category.code if r.category else "", r.sex] for r in rows]


def race_categories(*, race: Race) -> list[list[str]]:
    """``[[code, name], ...]``: the board's category filter."""
    return [[c.code, c.name] for c in race.categories.all().order_by("code")]
