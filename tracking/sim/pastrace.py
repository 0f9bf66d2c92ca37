"""A race that was run: every athlete's stored positions, for replays, their tests and bench.

The simulator drives a race live through the sockets; a replay needs a race already
run, thousands of athletes over an hour or two: written straight to the table (COPY
on PostgreSQL, through the ingest's own ``store_rows``) in seconds.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from typing import Any

from django.utils import timezone

from events.models import Race, Registration
from pace.lib.geo import cumulative_distances, point_at_distance
from tracking.ingest.commit import store_rows

METRES_PER_DEGREE = 111_200.0


def _athlete_rows(
    *,
    race: Race,
    athlete: int,
    finish_s: float,
    start_s: float,
    every: int,
    rng: random.Random,
    line: list[list[float]],
    cumulative: list[float],
) -> Iterator[tuple[Any, ...]]:
    """One athlete's fixes: an even pace to the finish, GPS noise of a few metres, two
    minutes standing past the line."""
    assert race.distance_m is not None
    scale = cumulative[-1] / race.distance_m
    t0 = race.start_time
    received = timezone.now()
    s = start_s + rng.uniform(0, every)
    seq = 0
    while s < start_s + finish_s + 120:
        metres = min(1.0, (s - start_s) / finish_s) * race.distance_m
        lon, lat = point_at_distance(line, cumulative, metres * scale)
        lat += rng.gauss(0, 3) / METRES_PER_DEGREE
        lon += rng.gauss(0, 3) / METRES_PER_DEGREE
        t = t0 + dt.timedelta(seconds=s)
        yield (race.pk, athlete, seq, t, lat, lon, None, 5.0, None, None, None, None, received, 0)
        seq += 1
        s += every


def past_race_positions_create(
    *, race: Race, every: int = 10, seed: int = 7, batch: int = 50_000
) -> int:
    """Every confirmed athlete of ``race`` ran it from its start: finish times spread like a
    city 10K's (scaled to its distance), a wave start over two minutes, one fix every
    ``every`` seconds. Returns how many positions were stored."""
    assert race.course is not None and race.distance_m is not None
    rng = random.Random(seed)
    line = race.course.line
    cumulative = cumulative_distances(line)
    ids = Registration.objects.filter(race=race, status=Registration.Status.CONFIRMED).values_list(
        "pk", flat=True
    )
    per_km = race.distance_m / 1000
    stored = 0
    rows: list[tuple[Any, ...]] = []
    for athlete in ids.order_by("pk"):
        # 3:00 to 10:00 a km, most around 5:45.
        pace = min(600.0, max(180.0, rng.gauss(345, 70)))
        rows.extend(
            _athlete_rows(
                race=race,
                athlete=athlete,
                finish_s=pace * per_km,
                start_s=rng.uniform(0, 120),
                every=every,
                rng=rng,
                line=line,
                cumulative=cumulative,
            )
        )
        if len(rows) >= batch:
            store_rows(rows)
            stored += len(rows)
            rows = []
    store_rows(rows)
    return stored + len(rows)
