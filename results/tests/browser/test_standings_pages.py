"""Series standings and stage race classifications in Chromium, on a desktop and a phone."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from events.tests.factories import make_organizer
from results import demo_stages
from results.models import Series, SeriesRace, StageRace
from results.series.recompute import series_recompute

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


def _shot(page: Any, name: str) -> None:
    """A screenshot for reviewing the page, when PACE_SCREENSHOTS names a folder."""
    folder = os.environ.get("PACE_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / name), full_page=True)


@pytest.fixture
def velo() -> Any:
    organizer = make_organizer("Velo Events")
    demo_stages.demo_seed()
    return organizer


def test_a_visitor_reads_a_stage_races_classifications(
    page: Any, live_server: Any, velo: Any
) -> None:
    page.goto(f"{live_server.url}/stage-races/{demo_stages.STAGE_RACE_SLUG}/")
    left = len(demo_stages.ABANDON_ON_LAST_STAGE)
    expect(page.locator("#gc tbody tr")).to_have_count(demo_stages.RIDERS - left)
    expect(page.locator("#gc tbody tr").nth(1)).to_contain_text("+")
    expect(page.locator("#teams-table tbody tr")).to_have_count(5)
    _shot(page, "stage-race.png")

    page.get_by_role("navigation", name="After stage").get_by_role(
        "link", name="After stage 1"
    ).click()
    expect(page.locator("#gc tbody tr")).to_have_count(demo_stages.RIDERS)
    page.set_viewport_size(PHONE)
    _shot(page, "stage-race-phone.png")


def test_a_visitor_reads_a_series_standings_by_category(
    page: Any, live_server: Any, velo: Any
) -> None:
    series = Series.objects.create(
        organizer=velo, name="Sierra Cup", slug="sierra-cup", is_public=True, best_of=2
    )
    for stage in StageRace.objects.get().stages.all():
        SeriesRace.objects.create(series=series, race=stage.race)
    series_recompute(series_id=series.pk)

    page.goto(f"{live_server.url}/series/sierra-cup/")
    rows = page.locator("#standings tbody tr")
    expect(rows).to_have_count(demo_stages.RIDERS)
    expect(rows.first.locator("td").first).to_have_text("1")
    expect(page.locator(".dropped").first).to_be_visible()  # best 2 of 3
    _shot(page, "series.png")

    page.get_by_role("link", name="Women", exact=True).click()
    expect(page.locator("h2").first).to_have_text("Women")
    page.set_viewport_size(PHONE)
    _shot(page, "series-phone.png")
