"""The event page links to a race's live page while the race is live, and only then."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine

from pace.lib.testing import cache_clear_own
from tracking.web.links import live_links

pytestmark = pytest.mark.django_db


def test_a_race_links_to_its_live_page_inside_its_tracking_window_only(alpha_event: Any) -> None:
    race = alpha_event.races.get()
    url = f"/live/{alpha_event.slug}/{race.slug}/"
    assert live_links([race], now=race.start_time - dt.timedelta(days=1)) == {}
    assert live_links([race], now=race.start_time)[race.pk].url == url
    assert live_links([race], now=race.start_time + dt.timedelta(days=3)) == {}


def test_the_event_page_shows_the_live_link_on_race_day(alpha_event: Any, client: Any) -> None:
    race = alpha_event.races.get()
    page = f"/events/{alpha_event.slug}/"
    cache_clear_own()
    assert f'href="/live/{alpha_event.slug}/{race.slug}/"' not in client.get(page).content.decode()
    cache_clear_own()  # the page is cached for a minute: the next look is a new one
    with time_machine.travel(race.start_time + dt.timedelta(minutes=30)):
        html = client.get(page).content.decode()
    assert f'href="/live/{alpha_event.slug}/{race.slug}/"' in html
    assert "Live tracking" in html
