"""Pages about a race that apps above the core serve, linked from the event page.

The event page is the core's, yet a race also has a live tracking page (``tracking``)
and results (``results``), which the core must not import. So apps register a
*finder* here when Django loads them (``AppConfig.ready``): given the races of a page,
it answers which of them have a page of its own now, in one query for them all. The
core shows what the finders answer and knows nothing else about them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from events.models import Race


@dataclass(frozen=True)
class RaceLink:
    """A link under a race on the event page: what it says and where it goes."""

    label: str
    url: str
    order: int = 0  # smaller first: live tracking before results


RaceLinkFinder = Callable[[Sequence[Race]], dict[int, RaceLink]]
"""Given races, the link of each race that has the page now (by race id)."""

_finders: dict[str, RaceLinkFinder] = {}


def register(name: str, finder: RaceLinkFinder) -> None:
    """Add (or replace, as ``ready()`` may run twice) the finder an app calls ``name``."""
    _finders[name] = finder


def race_links(races: Sequence[Race]) -> dict[int, list[RaceLink]]:
    """Every registered app's links of ``races``, by race id, in the apps' order."""
    links: dict[int, list[RaceLink]] = {race.pk: [] for race in races}
    if not races:
        return links
    for finder in _finders.values():
        for race_id, link in finder(races).items():
            links[race_id].append(link)
    for race_links_of_one in links.values():
        race_links_of_one.sort(key=lambda link: link.order)
    return links


RaceSnippet = Callable[[Race], tuple[str, str] | None]
"""Given a race, a snippet its organizer copies onto their own site: (label, text)."""

_snippets: dict[str, RaceSnippet] = {}


def register_snippet(name: str, snippet: RaceSnippet) -> None:
    """Add (or replace) a snippet the race's admin page shows to copy (tracking's embed)."""
    _snippets[name] = snippet


def race_snippets(race: Race) -> list[tuple[str, str]]:
    """Every registered app's snippet of ``race``, in the apps' order."""
    return [found for snippet in _snippets.values() if (found := snippet(race)) is not None]


RaceAdminLink = Callable[[Race], tuple[str, str] | None]
"""Given a race, a page of the back office about it: (label, url), e.g. race control."""

_admin_links: dict[str, RaceAdminLink] = {}


def register_admin_link(name: str, link: RaceAdminLink) -> None:
    """Add (or replace) a link the race's admin page and list show (tracking's race control)."""
    _admin_links[name] = link


def race_admin_links(race: Race) -> list[tuple[str, str]]:
    """Every registered app's back-office link of ``race``, in the apps' order."""
    return [found for link in _admin_links.values() if (found := link(race)) is not None]
