"""A logout takes the tracker's offline copy with it: the service worker's cached page
(every entry's token in it) and the IndexedDB of tokens and pending fixes leave the
phone, so the next person to open /track/ with no signal finds no token page."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from pace.lib.testing import PASSWORD
from tracking.models import Tracker
from tracking.tests.test_pages import TRACK, register
from tracking.tests.test_pages import race as race  # the fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

KEPT_PAGES = """async () => {
  const out = [];
  for (const name of await caches.keys()) {
    for (const r of await (await caches.open(name)).keys()) {
      if (new URL(r.url).pathname === '/track/') out.push(r.url);
    }
  }
  return out;
}"""
DATABASES = "async () => (await indexedDB.databases()).map(d => d.name)"


def test_logging_out_removes_the_trackers_offline_copy(
    browser: Any, live_server: Any, race: Any, dave: Any
) -> None:
    entry = register(race, dave)
    token = Tracker.objects.create(registration=entry).token
    base = live_server.url.replace("127.0.0.1", "localhost")
    context = browser.new_context(viewport={"width": 390, "height": 844})
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(f"{base}/accounts/login/?next={TRACK}")
        page.fill("input[name=login]", dave.email)
        page.fill("input[name=password]", PASSWORD)
        page.click("main form button[type=submit]")
        page.wait_for_url(f"{base}{TRACK}")
        assert token in page.content()  # the signed-in page holds the entry's token
        page.wait_for_function(f"async () => (await ({KEPT_PAGES})()).length > 0")
        page.wait_for_function(f"async () => (await ({DATABASES})()).includes('pace-tracker')")

        page.locator("header form button", has_text="Log out").click()
        page.wait_for_url(f"{base}/")
        assert page.evaluate(KEPT_PAGES) == []
        assert "pace-tracker" not in page.evaluate(DATABASES)

        # No signal: the tracker's address opens no token page of the signed-out athlete.
        context.set_offline(True)
        page.goto(f"{base}{TRACK}")
        expect(page.locator("body")).to_contain_text("No signal")
        assert token not in page.content()
    finally:
        context.close()
    assert errors == []
