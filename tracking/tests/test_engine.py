"""The race engine alone: statuses, ranks, gaps, splits and ETA from fixes and the clock."""

from __future__ import annotations

from typing import cast

import pytest

from events.courses import parse_gpx
from pace.lib.geo import cumulative_distances, point_at_distance
from pace.lib.gpxsynth import synth_course_gpx
from tracking.live.engine import Athlete, Fix, RaceEngine, Split, default_field_interval
from tracking.live.projection import CourseLine

START = 1_800_000_000.0


def _line() -> list[list[float]]:
    gpx = synth_course_gpx(
        name="c", lat=45.0, lon=6.0, distance_m=10_000, shape="loop", climb_m=0, seed=3
    )
    # Every point of a synthetic course has its longitude and latitude (never None).
    return cast("list[list[float]]", parse_gpx(gpx).line)


LINE = _line()
CUM = cumulative_distances(LINE)


@pytest.fixture
def engine() -> RaceEngine:
    engine = RaceEngine(
        race_id=1, start=START, course=CourseLine(LINE, official_distance=10_000),
        splits=[Split("Start", 0), Split("5 km", 5000), Split("Finish", 10_000)],
        athletes={i: Athlete(id=i, bib=str(i), name=f"A{i}") for i in (1, 2, 3, 4)},
        time_limit=3 * 3600, lost_after=60, stopped_after=120,
    )  # fmt: skip
    return engine


def fix(engine: RaceEngine, athlete: int, metres: float, t: float) -> Fix:
    lon, lat = point_at_distance(LINE, CUM, metres * CUM[-1] / 10_000)
    return Fix(athlete, START + t, lat, lon)


def test_it_ranks_by_distance_and_gives_gaps_behind_the_leader(engine):
    engine.add_fixes([fix(engine, 1, 0, 1), fix(engine, 2, 0, 1), fix(engine, 3, 0, 1)])
    engine.tick(START + 1)
    engine.add_fixes([fix(engine, 1, 1000, 300), fix(engine, 2, 1000, 330)])
    engine.add_fixes([fix(engine, 3, 900, 330)])
    out = engine.tick(START + 331)
    a = engine.athletes
    assert out.leaders == [1, 2, 3]
    assert (a[1].rank, a[1].gap) == (1, 0)
    assert a[2].rank == 2 and a[2].gap == pytest.approx(30, abs=2)
    assert a[3].rank == 3 and a[4].rank is None and a[4].status == "not_started"
    assert a[1].eta == pytest.approx(START + 3000, rel=0.05)


def test_it_tells_lost_signal_stopped_finished_and_dnf(engine):
    engine.add_fixes([fix(engine, i, 10, 5) for i in (1, 2, 3)])
    engine.tick(START + 5)
    # On a loop the finish is where the start is: only the way there tells them apart.
    engine.add_fixes([fix(engine, 1, km * 1000, km * 240) for km in range(1, 11)])
    engine.add_fixes([fix(engine, 2, 3000, 2400)])
    engine.add_fixes([fix(engine, 2, 3002, 2600)])
    out = engine.tick(START + 2600)
    a = engine.athletes
    assert a[1].status == "finished" and a[1].finish_time == pytest.approx(START + 2400, abs=5)
    assert a[2].status == "stopped"  # fixes keep coming, but it has not moved for 200 s
    assert a[3].status == "lost_signal"
    assert [(c.athlete, c.point) for c in out.crossings] == [(1, "5 km"), (1, "Finish")]
    engine.tick(START + 4 * 3600)
    assert a[2].status == "dnf" and a[2].rank is None and a[1].status == "finished"


def test_it_ignores_late_fixes_and_jumps_no_athlete_could_make(engine):
    engine.add_fixes([fix(engine, 1, 2000, 600)])
    engine.tick(START + 600)
    engine.add_fixes([fix(engine, 1, 1000, 300)])  # older than what it has
    engine.tick(START + 601)
    assert engine.athletes[1].distance == pytest.approx(2000, abs=20)
    engine.add_fixes([fix(engine, 1, 7000, 610)])  # 5 km in 10 s: GPS nonsense
    engine.tick(START + 610)
    assert engine.athletes[1].distance <= 2000 + 40 * 10 + 20


def test_it_encodes_only_athletes_that_changed():
    # The whole field within what a viewer's focus leaves of its 5 KB/s
    # (tests/test_field_budget.py measures the frames).
    assert default_field_interval(31, 5000) == 1
    assert default_field_interval(32, 5000) == 2
    assert default_field_interval(60, 5000) == 2
    assert default_field_interval(1000, 5000) == 32
    assert default_field_interval(5000, 5000) == 160
    assert default_field_interval(20_000, 5000) == 180  # the longest default


def test_it_sends_nothing_for_an_unchanged_tick(engine):
    engine.add_fixes([fix(engine, 1, 100, 30)])
    first = engine.tick(START + 30)
    assert len(first.changed) == 4 and len(first.field) == 4
    second = engine.tick(START + 31)
    assert second.changed == [] and second.field == [] and second.seq == first.seq + 1


def test_fixes_applied_between_ticks_give_the_tick_the_same_standings_and_splits(engine):
    """The ticker applies fixes as they come, so that a tick has less to do: the tick
    must come out as if they had all waited for it, split crossings included."""
    import copy

    ahead = copy.deepcopy(engine)
    moves = [(a, 4000 - 1000 * a + 700 * k, 30 + 200 * k) for k in range(1, 5) for a in (1, 2, 3)]
    for athlete, metres, t in moves:
        ahead.add_fixes([fix(engine, athlete, metres, t)])
        ahead.apply_pending()  # as they come
        engine.add_fixes([fix(engine, athlete, metres, t)])  # all at the tick
    together, apart = engine.tick(START + 900), ahead.tick(START + 900)
    assert apart.changed == together.changed and apart.field == together.field
    assert apart.crossings == together.crossings
    assert [(c.athlete, c.point) for c in together.crossings] == [(1, "5 km")]
    assert ahead.tick(START + 901).crossings == []  # reported once


def test_a_compact_entry_appends_rank_pace_gap_finish_and_the_off_course_flag(engine):
    engine.off_course_after = 150
    engine.add_fixes([fix(engine, 1, 0, 1), fix(engine, 2, 0, 1)])
    engine.tick(START + 1)
    lon, lat = point_at_distance(LINE, CUM, 1000 * CUM[-1] / 10_000)
    far = Fix(2, START + 330, lat, lon - 0.006)  # about 450 m off the line
    engine.add_fixes([fix(engine, 1, 1000, 300), far])
    engine.tick(START + 331)
    leader, lost = engine.athletes[1], engine.athletes[2]
    entry = engine.compact(leader)
    # PROTOCOL.md's five first, as old clients read them.
    assert entry[:5] == [1, round(leader.lat, 5), round(leader.lon, 5), 1000, "racing"]
    rank, pace, gap, finish, flags = entry[5:]
    assert (rank, gap, flags) == (1, 0, 0)
    assert pace == round(1000 / leader.speed)
    assert finish == pytest.approx(3000, rel=0.05)  # projected, in s after the start
    assert lost.status == "racing" and lost.off_course > 300
    assert engine.compact(lost)[9] == 1 and engine.state(lost)["flags"] == 1
    assert "flags" not in engine.state(leader)
    engine.add_fixes([fix(engine, 1, 9_990, 3000)])
    engine.tick(START + 3001)
    finished = engine.compact(leader)
    assert finished[4] == "finished" and finished[8] == round(leader.finish_time - START)
    assert finished[6] is None  # no pace once finished
