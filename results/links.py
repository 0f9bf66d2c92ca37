"""The event page's link to a race's results, once someone in it is timed."""

from __future__ import annotations

from collections.abc import Sequence

from events.models import Race
from events.race_pages import RaceLink
from results.selectors import timed_race_ids
from results.seo import results_url


def results_links(races: Sequence[Race]) -> dict[int, RaceLink]:
    """Races whose results page exists (the page's own rule: someone timed), in one query."""
    timed = timed_race_ids([race.pk for race in races])
    return {
        race.pk: RaceLink(label="Results", url=results_url(race), order=1)
        for race in races
        if race.pk in timed
    }
