"""Which track played over which stretch of a workout, and the tracks an athlete runs fastest to.

Plain functions over samples and plays, no models: Spotify gives no tempo any more
(audio features closed to new apps in November 2024), so music meets a workout by
time alone. A play lasts from its start for its duration, or, when the source gives
none (Last.fm), until the next play starts, at most ``UNKNOWN_DURATION``; a play
overlapping the next one ends where the next begins (skips, crossfades).

A stretch of a workout belongs to the play running at its later sample: the distance
between two samples, the time between them and the later sample's heart rate and
cadence are that play's. Pace is time over distance; a stretch shorter than
``MIN_STRETCH_M`` gives no pace (a track skipped after ten seconds says nothing).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from integrations.files.samples import Sample
from pace.lib.geo import haversine_m

UNKNOWN_DURATION = dt.timedelta(minutes=4)
MIN_STRETCH_M = 50.0
# A gap between samples longer than this is a pause (the watch stopped): no distance
# nor time is counted across it.
MAX_GAP_SECONDS = 60.0


@dataclass(frozen=True)
class PlayWindow:
    track: str
    artist: str
    started_at: dt.datetime
    duration: dt.timedelta | None = None  # None: unknown (Last.fm)

    @property
    def key(self) -> tuple[str, str]:
        return (self.track, self.artist)


@dataclass
class TrackStretch:
    """One play over one part of a workout."""

    track: str
    artist: str
    started_at: dt.datetime
    ended_at: dt.datetime
    first: int  # index of the first sample (the stretch's line starts here)
    last: int  # index of the last sample
    distance_m: float = 0.0
    seconds: float = 0.0
    hr: list[float] = field(default_factory=list, repr=False)
    cad: list[float] = field(default_factory=list, repr=False)

    @property
    def pace_s_per_km(self) -> float | None:
        if self.distance_m < MIN_STRETCH_M or self.seconds <= 0:
            return None
        return self.seconds / (self.distance_m / 1000.0)

    @property
    def avg_hr(self) -> float | None:
        return sum(self.hr) / len(self.hr) if self.hr else None

    @property
    def avg_cadence(self) -> float | None:
        return sum(self.cad) / len(self.cad) if self.cad else None


def play_intervals(
    plays: Iterable[PlayWindow],
) -> list[tuple[PlayWindow, dt.datetime, dt.datetime]]:
    """Each play with its start and end, in time order, none overlapping the next."""
    ordered = sorted(plays, key=lambda p: p.started_at)
    intervals = []
    for i, play in enumerate(ordered):
        end = play.started_at + (play.duration or UNKNOWN_DURATION)
        if i + 1 < len(ordered):
            end = min(end, ordered[i + 1].started_at)
        if end > play.started_at:
            intervals.append((play, play.started_at, end))
    return intervals


def _play_at(
    intervals: Sequence[tuple[PlayWindow, dt.datetime, dt.datetime]], start: int, when: dt.datetime
) -> int | None:
    """Index of the interval holding ``when``, searching from ``start`` (times only grow)."""
    for i in range(start, len(intervals)):
        _, begins, ends = intervals[i]
        if when < begins:
            return None
        if when < ends:
            return i
    return None


def stretches(samples: Sequence[Sample], plays: Iterable[PlayWindow]) -> list[TrackStretch]:
    """The plays heard during the workout (samples in time order), each with its stretch."""
    intervals = play_intervals(plays)
    found: dict[int, TrackStretch] = {}
    cursor = 0
    for i, sample in enumerate(samples):
        index = _play_at(intervals, cursor, sample.time)
        if index is None:
            continue
        cursor = index
        play, begins, ends = intervals[index]
        stretch = found.get(index)
        if stretch is None:
            stretch = found[index] = TrackStretch(
                track=play.track,
                artist=play.artist,
                started_at=max(begins, samples[0].time),
                ended_at=min(ends, samples[-1].time),
                first=max(i - 1, 0),
                last=i,
            )
        stretch.last = i
        _count(stretch, samples, i)
    return [found[i] for i in sorted(found)]


def _count(stretch: TrackStretch, samples: Sequence[Sample], i: int) -> None:
    sample = samples[i]
    if sample.hr is not None:
        stretch.hr.append(sample.hr)
    if sample.cad is not None:
        stretch.cad.append(sample.cad)
    if i == 0:
        return
    before = samples[i - 1]
    seconds = (sample.time - before.time).total_seconds()
    if not 0 < seconds <= MAX_GAP_SECONDS:
        return
    if None in (sample.lat, sample.lon, before.lat, before.lon):
        if sample.speed is None:
            return
        distance = sample.speed * seconds  # a treadmill or a file without positions
    else:
        distance = haversine_m(before.lat, before.lon, sample.lat, sample.lon)  # type: ignore[arg-type]
    stretch.distance_m += distance
    stretch.seconds += seconds


@dataclass
class TrackRecord:
    """A track's totals over every workout it played in."""

    track: str
    artist: str
    distance_m: float = 0.0
    seconds: float = 0.0
    activities: set[int] = field(default_factory=set)

    @property
    def pace_s_per_km(self) -> float:
        return self.seconds / (self.distance_m / 1000.0)


def fastest_tracks(
    stretches_by_activity: Iterable[tuple[int, Iterable[TrackStretch]]],
    *,
    min_distance_m: float,
    limit: int = 20,
) -> list[TrackRecord]:
    """The tracks with the fastest average pace over all their stretches; a track counts
    once it covered ``min_distance_m`` in total (one lucky downhill does not make a
    favourite)."""
    records: dict[tuple[str, str], TrackRecord] = {}
    for activity_id, found in stretches_by_activity:
        for stretch in found:
            key = (stretch.track, stretch.artist)
            record = records.setdefault(key, TrackRecord(track=key[0], artist=key[1]))
            record.distance_m += stretch.distance_m
            record.seconds += stretch.seconds
            record.activities.add(activity_id)
    counted = [r for r in records.values() if r.distance_m >= min_distance_m and r.seconds > 0]
    return sorted(counted, key=lambda r: r.pace_s_per_km)[:limit]
