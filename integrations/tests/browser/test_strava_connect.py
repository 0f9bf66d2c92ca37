"""Connecting Strava in Chromium against the fake Strava: the athlete clicks Connect,
says yes at Strava, and lands on their connections page with the import under way."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from events.tests.factories import make_user
from integrations.models import Connection
from integrations.tests.fake_strava import FakeStrava

pytestmark = pytest.mark.browser


def _shot(page: Any, name: str) -> None:
    folder = os.environ.get("PACE_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / name), full_page=True)


def test_an_athlete_connects_strava_and_watches_the_import(
    page: Any, live_server: Any, log_in: Any, strava: FakeStrava, settings: Any
) -> None:
    settings.SOCIALACCOUNT_PROVIDERS = {
        "strava": {
            "SCOPE": ["read,activity:read_all"],
            "APPS": [{"client_id": "1234", "secret": "shh-client-secret"}],
        }
    }
    # The browser resolves no host but localhost (pace.browser_testing): Strava's authorize
    # page is reached by that name.
    settings.STRAVA_OAUTH_URL = strava.url.replace("127.0.0.1", "localhost") + "/oauth"
    settings.STRAVA_DRAIN_BATCH = 2  # two queued pages in-process, the rest left queued
    strava.add_athlete(7, activities=120)
    strava.authorizing = 7
    ann = make_user("ann")
    log_in(ann, then="/integrations/")
    expect(page.get_by_test_id("strava-connect")).to_be_visible()
    _shot(page, "connections-before.png")

    page.get_by_test_id("strava-connect").click()
    page.wait_for_url(f"{live_server.url}/integrations/")
    expect(page.get_by_test_id("strava-progress")).to_contain_text(
        "30 of about 115 activities, importing"
    )
    expect(page.locator(".activity-list li")).to_have_count(20)
    assert Connection.objects.get(user=ann).external_id == "7"
    page.set_viewport_size({"width": 390, "height": 844})
    _shot(page, "connections-phone.png")
    page.set_viewport_size({"width": 1280, "height": 800})
    _shot(page, "connections-desktop.png")

    page.get_by_test_id("strava-disconnect").click()
    expect(page.locator(".flash")).to_contain_text("Strava disconnected")
    expect(page.get_by_test_id("strava-connect")).to_be_visible()
    assert not Connection.objects.exists()
    assert page.js_errors == []
