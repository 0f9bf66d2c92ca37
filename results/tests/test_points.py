"""A race's default timing points come from its course's split points."""

from __future__ import annotations

from typing import Any

from events.models import SplitPoint
from events.tests.factories import make_course, make_event, make_race
from results.models import ResultsPublication, TimingPoint
from results.points import default_timing_points, ensure_timing_points

K = TimingPoint.Kind


def test_it_makes_a_point_per_split_point_with_the_ends_as_start_and_finish(alpha: Any) -> None:
    course = make_course(alpha, distance_m=10_000)
    race = make_race(make_event(alpha, "Alpha Course"), course=course)
    splits = list(course.split_points.values_list("name", "distance_m"))
    points = ensure_timing_points(race=race)
    # The course's last split point is its end; the finish is at the race's distance.
    assert [(p.name, p.distance_m) for p in points] == [*splits[:-1], ("Finish", 10_000.0)]
    assert splits[-1] == ("Finish", course.distance_m)
    assert [p.kind for p in points] == [K.START, *[K.SPLIT] * (len(splits) - 2), K.FINISH]
    assert [p.order for p in points] == list(range(len(splits)))
    assert ensure_timing_points(race=race) == points  # made once


def test_it_adds_a_start_and_finish_to_a_course_without_them(alpha: Any) -> None:
    course = make_course(alpha, distance_m=10_000)
    course.split_points.all().delete()
    SplitPoint.objects.create(course=course, name="Start", distance_m=2500)  # not at 0 m
    race = make_race(make_event(alpha, "Alpha Odd"), course=course)
    points = default_timing_points(race=race)
    assert [(p.name, p.kind) for p in points] == [
        ("Start line", K.START),
        ("Start", K.SPLIT),
        ("Finish", K.FINISH),
    ]
    assert points[-1].distance_m == race.distance_m


def test_it_gives_a_race_without_a_course_a_start_and_a_finish(race: Any) -> None:
    points = default_timing_points(race=race)
    assert [(p.name, p.kind, p.distance_m) for p in points] == [
        ("Start", K.START, 0.0),
        ("Finish", K.FINISH, 10_000.0),
    ]


def test_it_tells_live_reads_the_points_changed(race: Any) -> None:
    publication = ResultsPublication.objects.create(race=race)
    ensure_timing_points(race=race)
    publication.refresh_from_db()
    assert publication.setup_version == 1
    TimingPoint.objects.filter(race=race).first().save()
    publication.refresh_from_db()
    assert publication.setup_version == 2


def test_the_finish_is_at_the_races_official_distance_not_the_courses_length(
    alpha: Any,
) -> None:
    course = make_course(alpha, distance_m=10_412)  # a 10K's GPX, measured a little long
    assert course.distance_m > 10_100
    race = make_race(make_event(alpha, "Alpha Long GPX"), course=course, distance_m=10_000)
    points = default_timing_points(race=race)
    assert points[-1].kind == K.FINISH and points[-1].distance_m == 10_000
    splits = {p.name: p.distance_m for p in points if p.kind == K.SPLIT}
    inside = course.split_points.filter(distance_m__gt=0, distance_m__lt=course.distance_m)
    assert splits == {s.name: s.distance_m for s in inside} and splits
