"""A race's results page leads to the standings it counts in: its stage race's
classifications and the public series that count it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from results.models import Series, SeriesRace, StageRace
from results.tests.pages import make_computed

pytestmark = pytest.mark.django_db


def test_it_links_the_public_series_that_count_the_race(
    client: Client, alpha: Any, alice: Any
) -> None:
    computed = make_computed(alpha, publish_by=alice)
    for name, public in [("Alpha Cup", True), ("Secret Cup", False)]:
        series = Series.objects.create(
            organizer=alpha, name=name, slug=name.lower().replace(" ", "-"), is_public=public
        )
        SeriesRace.objects.create(series=series, race=computed.race)
    page = client.get(computed.url()).content.decode()
    assert f'href="{reverse("results:series", args=["alpha-cup"])}">Alpha Cup</a>' in page
    assert "Secret Cup" not in page


def test_it_links_a_stage_s_results_to_the_classifications(
    client: Client, alpha: Any, alice: Any
) -> None:
    stage = make_computed(alpha, "Tour 1", publish_by=alice)
    StageRace.objects.create(event=stage.race.event)
    single = make_computed(alpha, "Alpha 10K", publish_by=alice)
    classification = reverse("results:stage_race", args=[stage.race.event.slug])
    assert f'href="{classification}">Classifications</a>' in client.get(stage.url()).text
    assert "Classifications" not in client.get(single.url()).text
