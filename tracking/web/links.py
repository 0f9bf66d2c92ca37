"""The event page's link to a race's live page, while the race is live."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.urls import reverse
from django.utils import timezone

from events.models import Race
from events.race_pages import RaceLink
from tracking.live.window import tracking_window


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
