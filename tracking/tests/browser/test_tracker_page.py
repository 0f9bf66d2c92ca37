"""The athlete's tracker page in Chromium: its forms work as a phone submits them.

The page keeps its token out of Referer headers sent to other sites; a policy of
``no-referrer`` also made Chromium send ``Origin: null`` on its own form posts, which
Django's CSRF check refuses: every form of the page answered 403.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tracking.ingest.athletes import athlete_for_device
from tracking.models import Tracker
from tracking.tests.test_pages import TRACK, register
from tracking.tests.test_pages import race as race  # the fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def open_app_setup(page: Any) -> None:
    """The tracker app's settings are behind a disclosure (open at once only while the
    entry has no device id or a link failed): open it as the athlete does."""
    setup = page.locator("details.app")
    if not setup.evaluate("d => d.open"):
        setup.locator("summary").click()


def test_it_links_issues_and_revokes_from_the_page_by_token(
    page: Any, live_server: Any, race: Any, dave: Any
) -> None:
    entry = register(race, dave)
    tracker = Tracker.objects.create(registration=entry)
    page.goto(f"{live_server.url}{TRACK}?token={tracker.token}")

    open_app_setup(page)
    card = page.locator("form.link-device")
    card.locator("input[name=device_id]").fill("123456")
    card.locator("button").click()
    expect(page.locator("main")).to_contain_text("at least 8 characters")

    open_app_setup(page)
    page.locator("form.link-device input[name=device_id]").fill("Pixel8.Anna_~x")
    page.locator("form.link-device button").click()
    expect(page.locator("main")).to_contain_text("Pixel8.Anna_~x")
    assert athlete_for_device("Pixel8.Anna_~x").id == entry.pk

    open_app_setup(page)
    page.locator("form.issue-device button").click()
    expect(page.locator("main")).not_to_contain_text("Pixel8.Anna_~x")
    issued = Tracker.objects.get(registration=entry).device_id
    assert issued != "Pixel8.Anna_~x"
    open_app_setup(page)
    expect(page.locator("main")).to_contain_text(issued)

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("form.rotate button").click()
    page.wait_for_url(lambda url: tracker.token not in url)
    assert Tracker.objects.get(registration=entry).token != tracker.token
    expect(page.locator("body")).not_to_contain_text("CSRF")
    assert page.js_errors == []
