from __future__ import annotations

from typing import cast

import pytest

from events.courses import parse_gpx
from pace.lib.geo import cumulative_distances, point_at_distance
from pace.lib.gpxsynth import synth_course_gpx
from tracking.live.projection import CourseLine


def _course(shape: str) -> tuple[list[list[float]], CourseLine]:
    gpx = synth_course_gpx(
        name="c", lat=45.0, lon=6.0, distance_m=10_000, shape=shape, climb_m=0, seed=4
    )
    # Every point of a synthetic course has its longitude and latitude (never None).
    line = cast("list[list[float]]", parse_gpx(gpx).line)
    return line, CourseLine(line, official_distance=10_000)


def _at(line: list[list[float]], metres: float) -> tuple[float, float]:
    cum = cumulative_distances(line)
    lon, lat = point_at_distance(line, cum, metres / 10_000 * cum[-1])
    return lat, lon


def test_it_follows_an_athlete_along_a_loop_to_the_finish():
    line, course = _course("loop")
    previous = None
    for metres in range(0, 10_001, 250):
        lat, lon = _at(line, metres)
        previous = course.project(lat, lon, previous).distance
        assert previous == pytest.approx(metres, abs=15)
    # The finish of a loop is also its start: with history, it is the finish.
    assert previous == pytest.approx(10_000, abs=15)


def test_it_tells_the_way_out_from_the_way_back():
    line, course = _course("out_back")
    out = _at(line, 2_000)
    assert course.project(*out, previous=1_900).distance == pytest.approx(2_000, abs=25)
    # The same place, on the way back (8 km), is told apart by the previous projection.
    assert course.project(*out, previous=7_900).distance == pytest.approx(8_000, abs=25)


def test_it_resists_gps_noise_and_does_not_run_backwards_on_a_jump():
    line, course = _course("loop")
    lat, lon = _at(line, 5_000)
    noisy = course.project(lat + 0.0003, lon, previous=4_950)  # ~33 m off the line
    assert noisy.distance == pytest.approx(5_000, abs=60)
    assert noisy.off_course == pytest.approx(33, abs=15)
    start_lat, start_lon = _at(line, 0)
    assert course.project(start_lat, start_lon, previous=5_000).distance >= 5_000 - 150


def test_it_measures_distance_off_course():
    line, course = _course("a_to_b")
    lat, lon = _at(line, 3_000)
    # 1.1 km north of the line; the wiggling line passes nearer elsewhere.
    far = course.project(lat + 0.01, lon, previous=3_000)
    assert far.off_course > 500


def test_it_rejects_a_course_without_a_line():
    with pytest.raises(ValueError, match="two points"):
        CourseLine([[6.0, 45.0, 0.0]])
