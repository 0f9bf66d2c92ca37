"""A course's elevation profile drawn to a scale where flat looks flat, hills like hills."""

from __future__ import annotations

from events.templatetags.pace_tags import HEIGHT, profile_path


def _heights(profile: list[list[float]]) -> list[float]:
    """How far up the box each point is drawn, 0 (bottom margin) to 1 (top margin)."""
    line = profile_path(profile)["line"][1:].split(" ")
    return [(HEIGHT - 8 - float(p.split(",")[1])) / (HEIGHT - 16) for p in line]


def test_a_flat_city_marathon_is_drawn_low_and_flat() -> None:
    # 42 km between 259 and 291 m (the demo's Valencia Marathon).
    profile = [[d * 1000.0, 259 + (d % 7) * 32 / 6] for d in range(43)]
    up = _heights(profile)
    assert min(up) == 0.0 and max(up) < 0.2  # 32 m of 168 m: a fifth of the box at most
    assert profile_path(profile)["low"] == 259 and profile_path(profile)["high"] == 291


def test_a_mountain_course_fills_the_box() -> None:
    profile = [[0.0, 800.0], [5000.0, 1900.0], [10000.0, 1000.0]]
    up = _heights(profile)
    assert up[0] == 0.0 and up[1] == 1.0


def test_a_short_course_with_little_climbing_is_not_drawn_as_hills() -> None:
    profile = [[0.0, 100.0], [2500.0, 112.0], [5000.0, 100.0]]
    assert max(_heights(profile)) < 0.1  # 12 m of the least 150 m


def test_fewer_than_two_points_draw_nothing() -> None:
    assert profile_path([]) == {} and profile_path([[0.0, 10.0]]) == {}
