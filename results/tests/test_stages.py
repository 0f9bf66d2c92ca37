"""A stage race from timed stages: the classification page, its queries and access."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from events.models import Event, Race
from events.tests.factories import make_event
from results.compute import recompute_race
from results.models import Stage, StagePoint, StageRace
from results.stages.selectors import stage_race_page
from results.tests.factories import make_entry, make_points, make_read

RIDERS = [("Ana", "Blue"), ("Ben", "Blue"), ("Cid", "<i>Red</i>"), ("Dan", "<i>Red</i>")]


def make_stage(event: Event, number: int, times: dict[str, tuple[float, float | None]]) -> Race:
    """Stage ``number`` of ``event``: each rider's (sprint, finish) seconds, finish None
    for a DNF; results computed and closed."""
    start = dt.datetime.combine(event.start_date, dt.time(10), tzinfo=dt.UTC)
    race = Race.objects.create(
        event=event, name=f"Stage {number}", slug=f"stage-{number}", distance_m=150_000,
        start_time=start + dt.timedelta(days=number - 1),
    )  # fmt: skip
    points = make_points(race, splits=(80_000.0,), finish_m=150_000.0)
    for first, club in RIDERS:
        if first not in times:
            continue
        entry = make_entry(race, first_name=first, last_name="Rider", club=club, bib="")
        sprint, finish = times[first]
        make_read(points["80 km"], entry, sprint)
        if finish is not None:
            make_read(points["Finish"], entry, finish)
    recompute_race(race_id=race.pk, close=True)
    return race


@pytest.fixture
def tour(alpha: Any) -> StageRace:
    event = make_event(alpha, "Tour des Alpes", sport="cycling", days_ahead=-20)
    stage_race = StageRace.objects.create(event=event, finish_bonuses_s=[10, 6], team_riders=2)
    first = make_stage(
        event,
        1,
        {"Ana": (7200, 14400), "Ben": (7100, 14410), "Cid": (7300, 14500), "Dan": (7400, 14450)},
    )
    second = make_stage(
        event,
        2,
        {"Ana": (7000, 14000), "Ben": (7050, 14100), "Cid": (6900, 13990), "Dan": (7500, None)},
    )
    for number, race in enumerate([first, second], start=1):
        stage = Stage.objects.create(stage_race=stage_race, race=race, number=number)
        StagePoint.objects.create(
            stage=stage, timing_point=race.timing_points.get(name="80 km"),
            kind=StagePoint.Kind.SPRINT, points=[5, 3], bonuses_s=[3, 1],
        )  # fmt: skip
    return stage_race


def test_it_classifies_the_riders_of_every_stage_with_bonuses(tour: StageRace) -> None:
    c = stage_race_page(event_slug=tour.event.slug, user=None).classifications
    # Ana: 4:00:00 + 3:53:20 less 10 + 1 (stage 1 win, sprint 2nd) and 6 + 1 (2nd, 2nd).
    # Cid: 4:01:40 + 3:53:10 less 10 + 3 (stage 2 win, sprint win). Ben: 4:00:10 + 3:55:00
    # less 6 + 3 (stage 1 2nd, sprint win). Dan did not finish stage 2.
    assert [(line.rank, line.name, line.time_ms, line.bonus_ms) for line in c.general] == [
        (1, "Ana Rider", 28_382_000, 18_000),
        (2, "Cid Rider", 28_477_000, 13_000),
        (3, "Ben Rider", 28_501_000, 9_000),
    ]
    # Stage places 25, 20, 16, 14 … and sprints 5, 3: Ana 25+3+20+3, Cid 14+25+5, Ben 20+5+16.
    assert [(line.name, line.points) for line in c.points] == [
        ("Ana Rider", 51), ("Cid Rider", 44), ("Ben Rider", 41),
    ]  # fmt: skip
    assert c.mountains == []
    # Teams, best 2 each stage: Blue 4:00:00 + 4:00:10 + 3:53:20 + 3:55:00; Red is down to
    # one rider on stage 2.
    assert [(t.team, t.time_ms) for t in c.teams] == [("Blue", 56_910_000)]


def test_it_classifies_after_a_given_stage(tour: StageRace) -> None:
    page = stage_race_page(event_slug=tour.event.slug, user=None, after=1)
    assert page.classifications.stages_run == [1]
    assert len(page.classifications.general) == 4  # Dan's DNF is on stage 2


def test_it_shows_the_classifications_with_a_fixed_number_of_queries(
    client: Any, tour: StageRace, django_assert_num_queries: Any
) -> None:
    url = reverse("results:stage_race", args=[tour.event.slug])
    with django_assert_num_queries(4):
        response = client.get(url)
    assert response.status_code == 200
    body = response.content.decode()
    assert "&lt;i&gt;Red&lt;/i&gt;" in body and "<i>Red</i>" not in body
    with django_assert_num_queries(0):
        assert client.get(url).content == response.content  # from the page cache
    for after in ("x", "²", "9" * 5000, "-1", "1"):
        assert client.get(url, {"after": after}).status_code == 200


def test_it_hides_a_draft_stage_race_from_strangers(
    client: Any, tour: StageRace, alice: Any
) -> None:
    Event.objects.filter(pk=tour.event_id).update(status=Event.Status.DRAFT)
    url = reverse("results:stage_race", args=[tour.event.slug])
    assert client.get(url).status_code == 404
    client.force_login(alice)
    assert client.get(url).status_code == 200


def test_it_refuses_a_stage_of_another_event_and_a_point_of_another_stage(
    alpha: Any, tour: StageRace
) -> None:
    other = make_event(alpha, "Other")
    race = Race.objects.create(
        event=other, name="X", slug="x", start_time=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    )
    with pytest.raises(ValidationError):
        Stage(stage_race=tour, race=race, number=3).full_clean()
    first, second = tour.stages.order_by("number")
    point = StagePoint(
        stage=first, timing_point=second.race.timing_points.get(name="Finish"), kind="climb"
    )
    with pytest.raises(ValidationError):
        point.full_clean()
