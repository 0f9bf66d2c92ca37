"""A visitor searches the marketplace and reads an event page in a real browser."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from events.tests.factories import make_course, make_event, make_race
from pace.lib.testing import eventually

pytestmark = pytest.mark.browser


@pytest.fixture
def bravo_ultra(bravo: Any) -> Any:
    """A second trail event, too long for the distance filter used below."""
    event = make_event(bravo, "Bravo Ultra", sport="trail", days_ahead=40, place="Verbier")
    make_race(event, "Ultra 60K", distance_m=60_000, course=make_course(bravo, seed=3))
    return event


def test_it_finds_an_event_by_sport_and_distance_and_draws_its_course(
    page: Any, live_server: Any, alpha_event: Any, bravo_event: Any, bravo_ultra: Any
) -> None:
    page.goto(live_server.url + "/")
    titles = page.locator(".event-card .card-title")
    # By start date, then name.
    expect(titles).to_have_text(["Alpha Marathon", "Bravo Trail", "Bravo Ultra"])

    page.select_option("select[name=sport]", "trail")
    page.fill("input[name=distance_max]", "30")
    page.click("form.search button[type=submit]")
    page.wait_for_url("**/events/?*")
    expect(titles).to_have_text(["Bravo Trail"])
    expect(page.locator(".result-count")).to_have_text("1 event")

    page.locator(".event-card", has_text="Bravo Trail").click()
    page.wait_for_url(f"{live_server.url}{bravo_event.get_absolute_url()}")
    expect(page.locator("h1")).to_have_text("Bravo Trail")
    expect(page.locator(".map[data-ready='1'] path.course-line")).to_have_count(1)
    # An SVG path of more than ten segments: the course's shape, not a stand-in line.
    line = page.locator(".map path.course-line")
    expect(line).to_have_attribute("d", re.compile(r"(L[^L]*){11}"))
    expect(page.locator(".map .split-marker").nth(1)).to_be_attached()
    expect(page.locator("figure.profile svg path.profile-line")).to_have_count(1)

    def structured_data() -> None:
        ld = page.locator("script[type='application/ld+json']").text_content()
        data = json.loads(ld or "{}")
        assert (data.get("@type"), data.get("name")) == ("SportsEvent", "Bravo Trail")

    eventually(structured_data)
    assert page.js_errors == []

    page.click("#race-trail-20k a:text-is('Enter')")
    page.wait_for_url(f"{live_server.url}/events/bravo-trail/enter/trail-20k/")


def test_it_shows_a_form_error_for_a_bad_filter(page: Any, live_server: Any, alpha_event: Any):
    response = page.goto(live_server.url + "/events/?distance_min=-5")
    assert response.status == 400
    error = page.locator(".field-distance_min .error")
    expect(error).to_contain_text("greater than or equal to 0")
    expect(page.locator(".event-card")).to_have_count(0)

    page.goto(live_server.url + "/")
    page.fill("input[name=date_from]", "2027-01-01")
    page.fill("input[name=date_to]", "2026-01-01")
    page.click("form.search button[type=submit]")
    expect(page.locator(".field-date_to .error")).to_have_text(
        "The end date is before the start date."
    )
    expect(page.locator("[role=alert]")).to_be_visible()


def test_it_shows_a_helpful_page_for_an_unknown_event(page: Any, live_server: Any, db: None):
    response = page.goto(live_server.url + "/events/no-such-event/")
    assert response.status == 404
    expect(page.locator("h1")).to_contain_text("Page not found")
    page.click("main >> text=Find an event")
    page.wait_for_url(live_server.url + "/events/")
