"""On a loop the start is also the finish: an athlete's first fix there is at 0 km, not at
the finish, in the replay and in the athlete panel's charts as on the live board (the
engine projects every fix ahead of the last, the first ahead of the start line)."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from tracking.live.projection import CourseLine
from tracking.web.athletedata import _track
from tracking.web.replaydata import along_course

# A 4 km square loop (lon, lat), clockwise from the start/finish at its south-west corner.
SIDE = 0.009  # about 1 km of latitude
LON_SIDE = SIDE / math.cos(math.radians(45.0))
LOOP = [(6.0, 45.0), (6.0, 45.0 + SIDE), (6.0 + LON_SIDE, 45.0 + SIDE), (6.0 + LON_SIDE, 45.0),
        (6.0, 45.0)]  # fmt: skip


def _on_loop(metres: float) -> tuple[float, float]:
    """(lat, lon) of the point ``metres`` along LOOP (whole sides of ~1 km)."""
    line = CourseLine(LOOP)
    m = metres % line.length
    for i in range(len(LOOP) - 1):
        a, b = line.cumulative[i], line.cumulative[i + 1]
        if m <= b:
            f = (m - a) / (b - a)
            (lon0, lat0), (lon1, lat1) = LOOP[i], LOOP[i + 1]
            return lat0 + f * (lat1 - lat0), lon0 + f * (lon1 - lon0)
    raise AssertionError(m)


def test_the_replay_puts_a_first_fix_behind_the_start_line_at_0_km() -> None:
    """Waiting in the start pen, a few metres before the line: on the loop's last metres."""
    line = CourseLine(LOOP)
    points = [_on_loop(m) for m in (-8.0, -2.0, 40.0, 90.0, 150.0)]
    distances = along_course(line, points, ahead=150.0)
    assert [round(d) for d in distances] == [0, 0, 40, 90, 150], distances


def test_the_replay_finds_a_first_fix_far_from_the_start_on_the_whole_line() -> None:
    line = CourseLine(LOOP)
    points = [_on_loop(m) for m in (1_500.0, 1_560.0)]
    assert [round(d) for d in along_course(line, points, ahead=150.0)] == [1_500, 1_560]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0, 60), min_size=1, max_size=40), st.floats(0, 30))
def test_the_replay_follows_any_run_round_the_loop_from_the_start(
    steps: list[float], jitter: float
) -> None:
    """Samples a few seconds apart (at most 60 m) from the start, with GPS noise: each at
    its true distance within the noise, never the loop's other end."""
    line = CourseLine(LOOP)
    true, run = [], -20.0  # in the start pen, before the line
    for step in steps:
        true.append(run)
        run = min(run + step, line.length - 100)
    points = [(lat + jitter / 110_540, lon) for lat, lon in map(_on_loop, true)]
    got = along_course(line, points, ahead=150.0)
    for want, have in zip(true, got, strict=True):
        # Never further than the noise past where the athlete is (nor at the loop's end).
        assert have <= max(want, 0.0) + jitter + 1.0, (want, have)


def test_the_athlete_panel_puts_a_first_fix_at_the_start_line_at_0_km() -> None:
    line = CourseLine(LOOP)
    start = 1_000.0
    fixes: list[tuple[float, float, float, float | None]] = [
        (start + 10.0 * k, *_on_loop(30.0 * k - 10.0), None) for k in range(5)
    ]
    track = _track(fixes, line, start)
    assert [round(d) for _t, d, _hr in track] == [0, 20, 50, 80, 110]
