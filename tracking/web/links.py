"""The event page's links to a race's live page, while the race is live, and to its
replay once it is over; the live page's links once the race is over."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.urls import reverse
from django.utils import timezone

from events.models import Race
from events.race_pages import RaceLink, race_links
from tracking.live.window import tracking_window
from tracking.models import Position


def live_links(races: Sequence[Race], *, now: dt.datetime | None = None) -> dict[int, RaceLink]:
    """Races inside their tracking window (the one rule of when a race is live) link to
    their live page; the event page is cached for a minute, so the link comes and goes
    within one."""
    moment = (now or timezone.now()).timestamp()
    links = {}
    for race in races:
        opens, closes = tracking_window(start=race.start_time, time_limit=race.time_limit)
        if opens <= moment <= closes:
            url = reverse("tracking:live", args=[race.event.slug, race.slug])
            links[race.pk] = RaceLink(label="Live tracking", url=url, order=0)
    return links


def replay_links(races: Sequence[Race], *, now: dt.datetime | None = None) -> dict[int, RaceLink]:
    """Races whose tracking has closed and which have stored positions link to their
    replay (one cheap EXISTS a race: an event page has a few)."""
    moment = (now or timezone.now()).timestamp()
    links = {}
    for race in races:
        _opens, closes = tracking_window(start=race.start_time, time_limit=race.time_limit)
        if closes < moment and Position.objects.filter(race_id=race.pk).exists():
            url = reverse("tracking:replay", args=[race.event.slug, race.slug])
            links[race.pk] = RaceLink(label="Replay", url=url, order=5)
    return links


def after_race_links(*, race: Race) -> list[dict[str, str]]:
    """What a race's live page points to once it is over: its results and replay pages,
    as the event page links them (every app's ``race_links`` but the live page's own)."""
    live = reverse("tracking:live", args=[race.event.slug, race.slug])
    return [
        {"label": link.label, "url": link.url}
        for link in race_links([race])[race.pk]
        if link.url != live
    ]
