"""Results' stage race demo: every classification has riders, and it is made once."""

from __future__ import annotations

from typing import Any

from events.tests.factories import make_organizer
from results import demo_stages
from results.models import Result
from results.stages.selectors import stage_race_page


def test_it_seeds_a_stage_race_with_every_classification_once(db: Any) -> None:
    make_organizer("Velo Events")

    entries = demo_stages.demo_seed()
    assert demo_stages.demo_seed() == []

    assert len(entries) == 3 * demo_stages.RIDERS
    slug = demo_stages.STAGE_RACE_SLUG
    assert Result.objects.filter(race__event__slug=slug, status="finished").count() > 110
    c = stage_race_page(event_slug=slug, user=None).classifications
    assert c.stages_run == [1, 2, 3]
    left = len(demo_stages.ABANDON_ON_LAST_STAGE)
    assert len(c.general) == demo_stages.RIDERS - left  # they left on the last stage
    assert c.points and c.mountains and c.teams
