"""The core's registry of pages about a race that apps above it serve."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from events import race_pages
from events.models import Race
from events.race_pages import RaceLink
from pace.lib.testing import cache_clear_own

pytestmark = pytest.mark.django_db


@pytest.fixture
def only_finders() -> Iterator[dict[str, race_pages.RaceLinkFinder]]:
    """The registry emptied for one test (the installed apps' finders put back after)."""
    saved = dict(race_pages._finders)
    race_pages._finders.clear()
    cache_clear_own()
    yield race_pages._finders
    race_pages._finders.clear()
    race_pages._finders.update(saved)


def test_the_event_page_shows_each_apps_links_under_its_races_in_their_order(
    only_finders: Any, alpha_event: Any, client: Any
) -> None:
    race = alpha_event.races.get()

    def late(races: Sequence[Race]) -> dict[int, RaceLink]:
        return {r.pk: RaceLink(label="Later page", url="/later/", order=5) for r in races}

    def early(races: Sequence[Race]) -> dict[int, RaceLink]:
        return {race.pk: RaceLink(label="Earlier <page>", url="/earlier/", order=1)}

    race_pages.register("late", late)
    race_pages.register("early", early)
    html = client.get(f"/events/{alpha_event.slug}/").content.decode()
    assert html.index('href="/earlier/"') < html.index('href="/later/"')
    assert "Earlier &lt;page&gt;" in html  # a label is text


def test_registering_a_name_again_replaces_its_finder(only_finders: Any, alpha_event: Any) -> None:
    race = alpha_event.races.get()
    race_pages.register("app", lambda races: {race.pk: RaceLink(label="one", url="/1/")})
    race_pages.register("app", lambda races: {race.pk: RaceLink(label="two", url="/2/")})
    assert race_pages.race_links([race]) == {race.pk: [RaceLink(label="two", url="/2/")]}


def test_no_races_ask_no_finder(only_finders: Any) -> None:
    def refuse(races: Sequence[Race]) -> dict[int, RaceLink]:
        raise AssertionError("asked about no races")

    race_pages.register("app", refuse)
    assert race_pages.race_links([]) == {}
