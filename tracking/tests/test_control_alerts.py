"""Race control's alerts as plain functions: what is wrong with an athlete, and the book
of open incidents (one per incident, however noisy the GPS around a threshold)."""

from __future__ import annotations

import math

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tracking.live.alerts import (
    KINDS,
    LOST_SIGNAL,
    MISSED_CHECKPOINT,
    OFF_COURSE,
    OFF_COURSE_BACK,
    STOPPED,
    AlertBook,
    Thresholds,
    conditions,
)
from tracking.live.engine import Athlete, RaceEngine, Split
from tracking.live.projection import CourseLine
from tracking.tests.test_engine import LINE, START, fix

LIMITS = Thresholds(off_course_m=150, stopped_s=600, lost_s=300)


def racing(**state: object) -> Athlete:
    athlete = Athlete(id=7, bib="7", name="Ann Lee", status="racing", t=START + 1000)
    athlete.moved_at = START + 990
    athlete.lat, athlete.lon = 45.0, 6.0
    for name, value in state.items():
        setattr(athlete, name, value)
    return athlete


def found(athlete: Athlete, now: float = START + 1001, **kwargs: object) -> dict[str, str]:
    return conditions(athlete, now=now, start=START, thresholds=LIMITS, **kwargs)  # type: ignore[arg-type]


def test_a_racing_athlete_near_the_course_raises_nothing():
    assert found(racing(off_course=149.9)) == {}


def test_off_course_is_past_the_threshold_not_at_it():
    assert found(racing(off_course=150.0)) == {}
    assert found(racing(off_course=150.5)) == {OFF_COURSE: "150 m from the course"}  # rounds
    assert OFF_COURSE in found(racing(off_course=2000))


def test_an_open_off_course_ends_only_well_inside_the_threshold():
    inside = 150 * OFF_COURSE_BACK
    assert OFF_COURSE in found(racing(off_course=inside + 1), open_kinds=frozenset({OFF_COURSE}))
    assert found(racing(off_course=inside - 1), open_kinds=frozenset({OFF_COURSE})) == {}


def test_lost_signal_after_the_race_setting_and_stopped_after_its_own():
    athlete = racing()
    assert found(athlete, now=START + 1000 + 300) == {}
    assert found(athlete, now=START + 1000 + 301) == {LOST_SIGNAL: "no fix for 5 min"}
    still = racing(moved_at=START + 1000 - 601)
    assert found(still) == {STOPPED: "not moving for 10 min"}
    # Lost says more than stopped: the last fixes standing still are not news then.
    assert set(found(still, now=START + 1000 + 3601)) == {LOST_SIGNAL}
    assert found(still, now=START + 1000 + 3661)[LOST_SIGNAL] == "no fix for 1 h 01 min"


@pytest.mark.parametrize("status", ["not_started", "finished", "dnf"])
def test_athletes_not_out_on_the_course_raise_nothing(status):
    athlete = racing(status=status, off_course=5000, moved_at=START, missed=["CP1"])
    assert found(athlete, now=START + 9000) == {}


def test_before_the_start_nobody_is_lost():
    assert found(racing(off_course=900), now=START - 1) == {}


def test_a_jump_over_a_split_is_a_missed_checkpoint():
    engine = RaceEngine(
        race_id=1, start=START, course=CourseLine(LINE, official_distance=10_000),
        splits=[Split("CP1", 3000), Split("CP2", 6000)],
        athletes={1: Athlete(id=1, bib="1", name="A"), 2: Athlete(id=2, bib="2", name="B")},
    )  # fmt: skip
    # Athlete 1 runs past CP1 fix by fix; athlete 2 has no fix from 2.5 km to 3.5 km.
    engine.add_fixes([fix(engine, 1, d, d / 3) for d in range(0, 3600, 100)])
    engine.add_fixes([fix(engine, 2, d, d / 3) for d in (0, 1000, 2000, 2500, 3500)])
    engine.tick(START + 1200)
    assert engine.athletes[1].missed == [] and engine.athletes[2].missed == ["CP1"]
    assert found(engine.athletes[1], now=START + 1200) == {}
    assert found(engine.athletes[2], now=START + 1200) == {MISSED_CHECKPOINT: "no fix near CP1"}


def test_the_book_opens_an_incident_once_and_closes_it_when_it_ends():
    book = AlertBook()
    athlete = racing(off_course=400)
    opened = book.update([athlete], now=START + 1001, start=START, thresholds=LIMITS).opened
    assert [(a.athlete, a.kind) for a in opened] == [(7, OFF_COURSE)]
    # GPS noise around the threshold: still the same incident, no new opening.
    for off in (149, 151, 130, 160, 125):
        athlete.off_course = off
        changes = book.update([athlete], now=START + 1002, start=START, thresholds=LIMITS)
        assert changes.opened == [] and changes.closed == []
    athlete.off_course = 20
    changes = book.update([athlete], now=START + 1003, start=START, thresholds=LIMITS)
    assert [a.kind for a in changes.closed] == [OFF_COURSE] and book.open == {}
    athlete.off_course = 300  # a second incident is a new one
    again = book.update([athlete], now=START + 1004, start=START, thresholds=LIMITS)
    assert [a.kind for a in again.opened] == [OFF_COURSE]
    listing = book.listing({7: athlete})
    assert listing[0]["name"] == "Ann Lee" and listing[0]["detail"] == "300 m from the course"
    assert listing[0]["lat"] == 45.0 and listing[0]["since"] == START + 1004


def test_a_withdrawn_athlete_leaves_the_lists():
    book = AlertBook()
    athlete = racing(off_course=400)
    book.update([athlete], now=START + 1001, start=START, thresholds=LIMITS)
    athlete.status = "dnf"
    changes = book.update([athlete], now=START + 1002, start=START, thresholds=LIMITS)
    assert [a.kind for a in changes.closed] == [OFF_COURSE]


@pytest.mark.parametrize("bad", [0, -1, math.nan, math.inf])
def test_thresholds_are_positive_numbers(bad):
    with pytest.raises(ValueError):
        Thresholds(off_course_m=bad)
    with pytest.raises(ValueError):
        Thresholds(lost_s=bad)


floats = st.floats(allow_nan=True, allow_infinity=True)


@given(
    off=floats, t=floats, moved=st.one_of(st.none(), floats), now=floats,
    status=st.sampled_from(["racing", "stopped", "lost_signal", "finished", "dnf", "not_started"]),
    threshold=st.floats(min_value=1, max_value=1e6),
)  # fmt: skip
@example(off=150.0, t=START, moved=None, now=START + 300, status="racing", threshold=150.0)
@example(off=math.nan, t=math.nan, moved=math.inf, now=START, status="racing", threshold=1.0)
@example(off=900.0, t=START, moved=None, now=math.nan, status="racing", threshold=150.0)
@example(off=900.0, t=math.inf, moved=None, now=START, status="racing", threshold=150.0)
def test_any_state_gives_known_kinds_and_never_fails(off, t, moved, now, status, threshold):
    athlete = racing(off_course=off, t=t, moved_at=moved, status=status)
    limits = Thresholds(off_course_m=threshold, stopped_s=600, lost_s=300)
    got = conditions(athlete, now=now, start=START, thresholds=limits)
    assert set(got) <= set(KINDS)
    assert all(isinstance(detail, str) and detail for detail in got.values())
    # At the boundary: off course exactly when further than the threshold (a number).
    if status in ("racing", "stopped", "lost_signal") and math.isfinite(t) and now >= START:
        assert (OFF_COURSE in got) == (math.isfinite(off) and off > threshold)
    else:
        assert got == {}


@given(offs=st.lists(st.floats(min_value=0, max_value=5000), max_size=60))
def test_the_book_opens_at_most_one_incident_more_than_it_closes(offs):
    book = AlertBook()
    athlete = racing()
    opened = closed = 0
    for n, off in enumerate(offs):
        athlete.off_course = off
        changes = book.update([athlete], now=START + 1001 + n, start=START, thresholds=LIMITS)
        opened += len(changes.opened)
        closed += len(changes.closed)
        assert opened - closed == len(book.open) <= 1


athlete_states = st.tuples(
    st.sampled_from(["racing", "stopped", "lost_signal", "finished", "not_started"]),
    st.one_of(st.none(), st.floats(min_value=START - 100, max_value=START + 2000)),  # t
    st.one_of(st.none(), floats),  # moved_at
    floats,  # off course
    st.booleans(),  # missed a split
)


@given(ticks=st.lists(st.lists(athlete_states, min_size=3, max_size=3), min_size=1, max_size=6))
def test_the_books_shortcut_agrees_with_the_conditions_of_each_athlete(ticks):
    book = AlertBook()
    for n, states in enumerate(ticks):
        athletes = []
        for i, (status, t, moved, off, missed) in enumerate(states):
            athlete = Athlete(id=i, bib=str(i), name="x", status=status, t=t)
            athlete.moved_at, athlete.off_course = moved, off
            athlete.missed = ["CP"] if missed else []
            athletes.append(athlete)
        now = START + 2000 + n
        was = {a: {k for (i, k) in book.open if i == a} for a in range(3)}
        book.update(athletes, now=now, start=START, thresholds=LIMITS)
        expected = {
            (a.id, kind)
            for a in athletes
            for kind in conditions(
                a, now=now, start=START, thresholds=LIMITS, open_kinds=frozenset(was[a.id])
            )
        }
        assert set(book.open) == expected
