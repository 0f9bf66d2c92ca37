"""Lining plays up with a workout's samples, and the tracks run fastest to."""

from __future__ import annotations

import datetime as dt

import pytest

from integrations.correlation import (
    UNKNOWN_DURATION,
    PlayWindow,
    TrackStretch,
    fastest_tracks,
    play_intervals,
    stretches,
)
from integrations.files.samples import Sample
from integrations.tests.activity_files import START, run_samples

MIN = dt.timedelta(minutes=1)


def _play(name: str, minute: float, minutes: float | None) -> PlayWindow:
    return PlayWindow(
        track=name,
        artist="Artist " + name,
        started_at=START + minute * MIN,
        duration=None if minutes is None else minutes * MIN,
    )


def test_it_gives_each_play_its_stretch_with_distance_pace_heart_rate_and_cadence() -> None:
    samples = run_samples(minutes=10, every=5, speed=3.0)  # 3 m/s: 5:33 a km
    plays = [_play("A", -1, 4), _play("B", 3, 4), _play("C", 7, 5)]
    found = stretches(samples, plays)
    assert [s.track for s in found] == ["A", "B", "C"]
    a, b, c = found
    assert a.started_at == START and a.ended_at == START + 3 * MIN
    assert c.ended_at == START + 10 * MIN  # clipped to the workout
    assert a.distance_m == pytest.approx((3 * 60 - 5) * 3.0, rel=0.01)  # from the first sample
    assert b.distance_m == pytest.approx(4 * 60 * 3.0, rel=0.01)
    assert b.pace_s_per_km == pytest.approx(1000 / 3.0, rel=0.01)
    assert a.avg_hr == pytest.approx(sum(130 + i % 30 for i in range(36)) / 36)  # 0:00 to 2:55
    assert 84 <= (b.avg_cadence or 0) <= 88
    # Each stretch's line joins the previous one's last point: the map has no gaps.
    assert b.first == a.last and c.first == b.last


def test_it_ends_a_play_at_the_next_start_and_caps_unknown_durations() -> None:
    plays = [_play("A", 0, 10), _play("B", 2, None), _play("C", 30, None)]
    intervals = play_intervals(plays)
    assert [(p.track, end - begin) for p, begin, end in intervals] == [
        ("A", 2 * MIN),
        ("B", UNKNOWN_DURATION),
        ("C", UNKNOWN_DURATION),
    ]


def test_it_leaves_out_silence_and_plays_outside_the_workout() -> None:
    samples = run_samples(minutes=10)
    plays = [_play("before", -20, 3), _play("A", 2, 2), _play("after", 15, 3)]
    [only] = stretches(samples, plays)
    assert only.track == "A" and only.distance_m == pytest.approx(2 * 60 * 3.0, rel=0.01)


def test_it_counts_no_distance_over_a_pause_and_uses_speed_without_positions() -> None:
    samples = run_samples(minutes=4, every=5)
    paused = samples[:10] + [
        Sample(time=s.time + 10 * MIN, lat=s.lat, lon=s.lon) for s in samples[10:]
    ]
    [stretch] = stretches(paused, [_play("A", 0, 30)])
    assert stretch.distance_m == pytest.approx((len(samples) - 2) * 5 * 3.0, rel=0.01)
    treadmill = [Sample(time=s.time, speed=2.5, hr=s.hr) for s in samples]
    [indoor] = stretches(treadmill, [_play("A", 0, 30)])
    assert indoor.distance_m == pytest.approx(4 * 60 * 2.5)


def test_it_gives_no_pace_for_a_skipped_track() -> None:
    [skipped, _] = stretches(run_samples(), [_play("skip", 1, 0.15), _play("B", 1.15, 4)])
    assert skipped.distance_m < 50 and skipped.pace_s_per_km is None


def test_it_gives_nothing_for_a_workout_without_music() -> None:
    assert stretches(run_samples(), []) == []
    assert stretches([], [_play("A", 0, 3)]) == []


def _stretch(track: str, metres: float, seconds: float) -> TrackStretch:
    return TrackStretch(
        track=track,
        artist="X",
        started_at=START,
        ended_at=START,
        first=0,
        last=1,
        distance_m=metres,
        seconds=seconds,
    )


def test_it_ranks_tracks_by_pace_over_every_activity_once_they_ran_far_enough() -> None:
    records = fastest_tracks(
        [
            (1, [_stretch("steady", 800, 240), _stretch("sprint", 300, 60)]),
            (2, [_stretch("steady", 800, 250), _stretch("slow", 1200, 480)]),
            (3, [_stretch("sprint", 300, 70)]),
        ],
        min_distance_m=1000,
    )
    assert [r.track for r in records] == ["steady", "slow"]  # sprint ran 600 m only
    steady = records[0]
    assert steady.pace_s_per_km == pytest.approx(490 / 1.6)
    assert steady.activities == {1, 2}
    assert [
        r.track for r in fastest_tracks([(3, [_stretch("sprint", 300, 70)])], min_distance_m=0)
    ] == ["sprint"]
