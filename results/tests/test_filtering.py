"""Which reads count: pure rules, no database."""

from __future__ import annotations

from results.filtering import (
    AFTER_CUTOFF,
    BEFORE_START,
    DUPLICATE,
    GPS_OVERRULED,
    REPEAT,
    TOO_FAST,
    UNKNOWN_POINT,
    count_reads,
)
from results.models import TimingPoint
from results.rules import Point, RaceSetup

GUN = 1_000_000_000_000
START, SPLIT, FINISH, LAP = 1, 2, 3, 4
K = TimingPoint.Kind


def setup(**kw: object) -> RaceSetup:
    points = {
        START: Point(START, "Start", K.START, 0.0, 30_000, 0),
        SPLIT: Point(SPLIT, "5 km", K.SPLIT, 5000.0, 30_000, 1),
        FINISH: Point(FINISH, "Finish", K.FINISH, 10_000.0, 30_000, 2),
        LAP: Point(LAP, "Lap", K.LAP, 2500.0, 30_000, 3),
    }
    return RaceSetup(race_id=1, gun_ms=GUN, points=points, **kw)  # type: ignore[arg-type]


def read(seconds: float, point: int, source: str = "chip_file", rid: int = 0) -> tuple:
    return (GUN + round(seconds * 1000), point, source, rid)


def test_it_counts_the_first_of_reads_closer_than_the_points_gap_as_one_pass() -> None:
    reads = [read(1500, SPLIT, rid=1), read(1501, SPLIT, rid=2), read(1529.9, SPLIT, rid=3)]
    counted = count_reads(setup(), gun_ms=GUN, reads=reads)
    assert counted.times == {SPLIT: [GUN + 1_500_000]}
    assert sorted(reason for _, reason in counted.rejected) == [DUPLICATE, DUPLICATE]


def test_it_counts_a_later_pass_at_a_single_pass_point_as_a_repeat_not_a_new_time() -> None:
    counted = count_reads(setup(), gun_ms=GUN, reads=[read(3000, FINISH), read(3600, FINISH)])
    assert counted.times == {FINISH: [GUN + 3_000_000]}
    assert [reason for _, reason in counted.rejected] == [REPEAT]


def test_it_sets_aside_reads_before_the_gun_and_after_the_cutoff() -> None:
    reads = [read(-60, START), read(10, START), read(7201, FINISH), read(7200, SPLIT)]
    counted = count_reads(setup(cutoff_ms=7_200_000), gun_ms=GUN, reads=reads)
    assert counted.times == {START: [GUN + 10_000], SPLIT: [GUN + 7_200_000]}
    assert sorted(reason for _, reason in counted.rejected) == [AFTER_CUTOFF, BEFORE_START]


def test_it_sets_aside_reads_before_the_athletes_own_start_read() -> None:
    counted = count_reads(setup(), gun_ms=GUN, reads=[read(100, START), read(90, SPLIT)])
    assert counted.times == {START: [GUN + 100_000]}
    assert [reason for _, reason in counted.rejected] == [BEFORE_START]


def test_it_takes_a_read_faster_than_the_speed_limit_allows_for_a_ghost() -> None:
    # 10 km in 20 minutes is 8.3 m/s: over a limit of 7 m/s. 5 km in 20 min is not.
    reads = [read(1200, FINISH), read(1200, SPLIT)]
    counted = count_reads(setup(max_speed_mps=7.0), gun_ms=GUN, reads=reads)
    assert counted.times == {SPLIT: [GUN + 1_200_000]}
    assert [reason for _, reason in counted.rejected] == [TOO_FAST]


def test_it_lets_a_chip_read_beat_a_gps_crossing_at_the_same_point_whatever_came_first() -> None:
    reads = [read(1495, SPLIT, "gps"), read(1510, SPLIT, "push"), read(3000, FINISH, "gps")]
    counted = count_reads(setup(), gun_ms=GUN, reads=reads)
    assert counted.times == {SPLIT: [GUN + 1_510_000], FINISH: [GUN + 3_000_000]}
    assert [reason for _, reason in counted.rejected] == [GPS_OVERRULED]


def test_it_counts_a_manual_read_as_a_timing_read_over_gps() -> None:
    counted = count_reads(
        setup(), gun_ms=GUN, reads=[read(3000, FINISH, "gps"), read(3002, FINISH, "manual")]
    )
    assert counted.times == {FINISH: [GUN + 3_002_000]}


def test_it_counts_a_pass_a_lap_at_lap_points_and_a_lap_races_finish() -> None:
    reads = [read(600 * n, LAP, rid=n) for n in range(1, 5)]  # four passes, three laps
    reads += [read(1800, FINISH), read(1810, FINISH), read(2400, FINISH)]
    counted = count_reads(setup(laps=3), gun_ms=GUN, reads=reads)
    assert counted.times[LAP] == [GUN + 600_000, GUN + 1_200_000, GUN + 1_800_000]
    assert counted.times[FINISH] == [GUN + 1_800_000, GUN + 2_400_000]
    assert sorted(reason for _, reason in counted.rejected) == [DUPLICATE, REPEAT]


def test_it_sets_aside_a_read_at_a_point_the_race_does_not_have() -> None:
    counted = count_reads(setup(), gun_ms=GUN, reads=[read(100, 99)])
    assert counted.times == {}
    assert [reason for _, reason in counted.rejected] == [UNKNOWN_POINT]


def test_it_takes_reads_from_the_athletes_wave_start_not_the_races_gun() -> None:
    wave = GUN + 600_000
    counted = count_reads(setup(), gun_ms=wave, reads=[read(300, SPLIT), read(2000, SPLIT)])
    assert counted.times == {SPLIT: [GUN + 2_000_000]}
    assert [reason for _, reason in counted.rejected] == [BEFORE_START]
