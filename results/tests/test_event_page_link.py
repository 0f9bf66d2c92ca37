"""The event page links to a race's results once someone in it is timed."""

from __future__ import annotations

from typing import Any

import pytest

from events.tests.factories import make_event, make_race
from pace.lib.testing import cache_clear_own
from results.links import results_links
from results.tests.pages import make_computed

pytestmark = pytest.mark.django_db


def test_a_timed_race_links_to_its_results_and_an_untimed_one_does_not(
    alpha: Any, client: Any
) -> None:
    computed = make_computed(alpha)
    untimed = make_race(make_event(alpha, "Beta Trail"), "20K")
    race = computed.race
    links = results_links([race, untimed])
    assert list(links) == [race.pk]
    assert links[race.pk].url == computed.url()
    cache_clear_own()
    html = client.get(f"/events/{race.event.slug}/").content.decode()
    assert f'href="{computed.url()}"' in html


def test_the_links_of_many_races_take_one_query(alpha: Any, django_assert_num_queries: Any) -> None:
    races = [make_computed(alpha, f"Race {n}").race for n in range(3)]
    with django_assert_num_queries(1):
        assert len(results_links(races)) == 3
