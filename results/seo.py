"""Structured data for results pages (schema.org), and the sitemap of results pages.

A race's results page describes the race as a ``SportsEvent`` whose ``competitor``s
are its leading finishers; an athlete's page describes the ``Person`` and the race
they took part in (``performerIn``). Schema.org has no results vocabulary: nothing
more is claimed than these types say.
"""

from __future__ import annotations

import json
from typing import Any, cast

from django.conf import settings
from django.urls import reverse
from django_countries.fields import Country

from events.models import Race
from events.sitemaps import Sitemap
from results.models import Result
from results.selectors import RacePage, sitemap_races

# Organizers and athletes write names: keep "</script>" in them from closing the tag.
_JSON_IN_SCRIPT = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}


def script_json(data: dict[str, Any]) -> str:
    return json.dumps(data).translate(_JSON_IN_SCRIPT)


def results_url(race: Race) -> str:
    return reverse("results:race", args=[race.event.slug, race.slug])


# Bibs that are also the name of a race's page (``…/statistics/``): their athlete's page
# is at ``…/bib/BIB/`` instead (any bib is reachable there).
RESERVED_BIBS = frozenset({"statistics"})


def athlete_path(event_slug: str, race_slug: str, bib: str) -> str:
    """An athlete's page: ``/results/EVENT/RACE/BIB/``, or ``…/bib/BIB/`` for a bib that
    is a page's name."""
    name = "results:athlete_bib" if bib in RESERVED_BIBS else "results:athlete"
    return reverse(name, args=[event_slug, race_slug, bib])


def race_event_ld(page: RacePage) -> dict[str, Any]:
    event, race = page.event, page.race
    return {
        "@type": "SportsEvent",
        "name": f"{event.name}: {race.name}",
        "sport": event.get_sport_display(),
        "startDate": race.start_time.astimezone(event.local_tz).isoformat(),
        "url": f"{settings.SITE_URL}{results_url(race)}",
        "eventStatus": "https://schema.org/EventScheduled",
        "eventAttendanceMode": "https://schema.org/OfflineEventAttendanceMode",
        "location": {
            "@type": "Place",
            "name": event.place,
            "address": {
                "@type": "PostalAddress",
                "addressLocality": event.place,
                # CountryField gives a Country; the stubs say str.
                "addressCountry": cast(Country, event.country).code,
            },
        },
        "organizer": {"@type": "Organization", "name": event.organizer.name},
    }


def person_ld(result: Result) -> dict[str, Any]:
    entry = result.registration
    return _person(entry.name, entry.club)


def _person(name: str, club: str) -> dict[str, Any]:
    person: dict[str, Any] = {"@type": "Person", "name": name}
    if club:
        person["memberOf"] = {"@type": "SportsOrganization", "name": club}
    return person


def results_json_ld(page: RacePage, leaders: list[dict[str, Any]]) -> str:
    """The race, with its leading finishers (table rows: ``name``, ``club``)."""
    data = {"@context": "https://schema.org", **race_event_ld(page)}
    if leaders:
        data["competitor"] = [_person(row["name"], row["club"]) for row in leaders]
    return script_json(data)


def athlete_json_ld(page: RacePage, result: Result) -> str:
    path = athlete_path(page.event.slug, page.race.slug, result.registration.bib)
    data = {
        "@context": "https://schema.org",
        **person_ld(result),
        "url": f"{settings.SITE_URL}{path}",
        "performerIn": race_event_ld(page),
    }
    return script_json(data)


class ResultsSitemap(Sitemap):
    """Results pages of public races with someone timed (athletes' pages are linked from
    them; listing every athlete would flood the sitemap)."""

    changefreq = "weekly"
    priority = 0.6

    def items(self) -> Any:
        return sitemap_races()

    def location(self, item: Race) -> str:
        return results_url(item)
