"""Compact replay tracks: every athlete at fixed-interval samples, as delta-encoded integers.

A replay of 5,000 athletes cannot send their fixes (millions of rows): each athlete
becomes one sample every ``step`` seconds from their first to their last, holding
where they were (latitude and longitude in 1e-5 degrees, about a metre) and how far
along the course (whole metres). Consecutive samples differ by little, so each series
is sent as its first value and then differences: small integers that JSON writes in a
few characters and gzip squeezes further. ``static/tracking/replay.js`` decodes them.

A track row: ``[athlete_id, first_sample, distances, lats, lons]``, each list the
deltas of its series (the first element absolute). Pure functions, no Django.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

COORD_SCALE = 100_000  # 1e-5 degrees

Projector = Callable[[Sequence[tuple[float, float]]], list[float]]
"""One athlete's ``(lat, lon)`` in time order -> each one's distance along the course (m)."""


@dataclass(frozen=True, slots=True)
class Track:
    """One athlete's samples: sample ``first + i`` is at ``t0 + (first + i) * step``."""

    athlete: int
    first: int
    distances: list[float]
    lats: list[float]
    lons: list[float]


def deltas(values: Iterable[int]) -> list[int]:
    """The first value, then each value's difference from the one before."""
    whole = list(values)
    if not whole:
        return []
    # map over two lists: no tuple and no bytecode per item (a replay has millions)
    return [whole[0], *map(operator.sub, whole[1:], whole)]


def undeltas(values: Iterable[int]) -> list[int]:
    """What ``deltas`` took: running sums."""
    return list(itertools.accumulate(values))


_SCALE = float(COORD_SCALE)


def _scaled(values: list[float]) -> list[int]:
    return list(map(round, map(_SCALE.__mul__, values)))


def encode_track(track: Track) -> list[object]:
    """A track as its row of delta-encoded integers."""
    return [
        track.athlete,
        track.first,
        deltas(map(round, track.distances)),
        deltas(_scaled(track.lats)),
        deltas(_scaled(track.lons)),
    ]


def decode_track(row: Sequence[object]) -> Track:
    """A row of ``encode_track`` back as a track (to a metre and 1e-5 degrees)."""
    athlete, first, distances, lats, lons = row
    assert isinstance(athlete, int) and isinstance(first, int)
    assert isinstance(distances, list) and isinstance(lats, list) and isinstance(lons, list)
    return Track(
        athlete=athlete,
        first=first,
        distances=[float(d) for d in undeltas(distances)],
        lats=[v / COORD_SCALE for v in undeltas(lats)],
        lons=[v / COORD_SCALE for v in undeltas(lons)],
    )


def fill_gaps(samples: Sequence[tuple[int, float, float]]) -> list[tuple[int, float, float]]:
    """``(sample, lat, lon)`` in sample order, with every missing sample between two known
    ones filled on the straight line between them (a tunnel, a phone without signal)."""
    if not samples or samples[-1][0] - samples[0][0] == len(samples) - 1:
        return list(samples)  # none missing (most athletes): nothing to fill
    out: list[tuple[int, float, float]] = []
    for (k0, lat0, lon0), (k1, lat1, lon1) in itertools.pairwise(samples):
        out.append((k0, lat0, lon0))
        for k in range(k0 + 1, k1):
            f = (k - k0) / (k1 - k0)
            out.append((k, lat0 + f * (lat1 - lat0), lon0 + f * (lon1 - lon0)))
    if samples:
        out.append(samples[-1])
    return out


def build_track(
    athlete: int, samples: Sequence[tuple[int, float, float]], project: Projector
) -> Track:
    """An athlete's track from their ``(sample, lat, lon)`` in sample order: gaps filled
    and each sample's distance along the course, which never goes back (GPS noise around
    the finish must not move a finished athlete down the board)."""
    filled = fill_gaps(samples)
    _ks, lat_tuple, lon_tuple = zip(*filled, strict=True)
    lats, lons = list(lat_tuple), list(lon_tuple)
    distances = list(itertools.accumulate(project(list(zip(lats, lons, strict=True))), max))
    return Track(athlete=athlete, first=filled[0][0], distances=distances, lats=lats, lons=lons)


def group_rows(
    rows: Iterable[tuple[int, int, float, float]],
) -> Iterator[tuple[int, list[tuple[int, float, float]]]]:
    """``(athlete, sample, lat, lon)`` rows sorted by athlete then sample, by athlete."""
    for athlete, group in itertools.groupby(rows, key=lambda row: row[0]):
        yield athlete, [(k, lat, lon) for _a, k, lat, lon in group]


NICE_STEPS = (5, 10, 15, 20, 30, 60, 120, 300)


def sample_step(*, duration: float, athletes: int, budget: int) -> int:
    """The shortest of ``NICE_STEPS`` seconds that keeps ``athletes`` tracks over
    ``duration`` seconds within ``budget`` samples in all."""
    for step in NICE_STEPS:
        if athletes * (duration / step + 1) <= budget:
            return step
    return NICE_STEPS[-1]
