"""The public results pages in Chromium: a computed race's table searched and filtered,
an athlete's page with its chart and GPS trace, and the certificate link."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from events.tests.factories import make_course
from pace.lib.testing import cache_clear_own
from results.compute import recompute_race
from results.tests.factories import make_read
from results.tests.pages import Computed, make_computed
from tracking.models import Position

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


def _shot(page: Any, name: str) -> None:
    """A screenshot for reviewing the page, when PACE_SCREENSHOTS names a folder."""
    folder = os.environ.get("PACE_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / name), full_page=True)


def _with_trace(computed: Computed, first: str) -> None:
    """The athlete carried a phone: fixes along the course, one every 20 s."""
    course = computed.race.course
    assert course is not None
    line = course.line[:: max(1, len(course.line) // 120)]
    start = computed.race.start_time
    Position.objects.bulk_create(
        Position(
            race=computed.race, registration=computed.entries[first], seq=n,
            t=start + dt.timedelta(seconds=20 * n), lat=lat + 0.00004, lon=lon,
            received_at=timezone.now(),
        )
        for n, (lon, lat, *_) in enumerate(line)
    )  # fmt: skip


def test_a_visitor_searches_and_filters_a_races_results(
    page: Any, live_server: Any, alpha: Any, alice: Any
) -> None:
    computed = make_computed(alpha, publish_by=alice)
    page.goto(live_server.url + computed.url())
    rows = page.locator("#results-table tbody tr")
    expect(rows).to_have_count(6)
    expect(rows.first).to_contain_text("Ben Birch")
    expect(page.locator("#results-state")).to_contain_text("Official results")
    _shot(page, "results-table.png")

    page.fill("input[name=q]", "annecy")
    page.press("input[name=q]", "Enter")
    expect(rows).to_have_count(2)
    expect(page.locator("#result-count")).to_contain_text("2 athletes match")

    page.goto(live_server.url + computed.url())
    page.select_option("select[name=category]", "M40")  # applies when changed
    expect(rows).to_have_count(3)
    page.select_option("select[name=sex]", "F")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Chloé Cedar")

    page.click("#results-table th >> text=Name")
    expect(page).to_have_url(f"{live_server.url}{computed.url()}?category=M40&sex=F&sort=name")
    page.set_viewport_size(PHONE)
    page.goto(live_server.url + computed.url())
    expect(rows).to_have_count(6)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    _shot(page, "results-table-390.png")
    page.click("text=Statistics")
    expect(page.locator("#race-stats")).to_contain_text("Finishers")
    expect(page.locator(".bar-chart .bar-fill")).not_to_have_count(0)
    _shot(page, "statistics-390.png")
    assert page.js_errors == []


def test_a_live_races_table_follows_new_reads_without_a_reload(
    page: Any, live_server: Any, alpha: Any
) -> None:
    gun = timezone.now() - dt.timedelta(minutes=50)
    computed = make_computed(alpha, "Alpha Live", days_ahead=0, start=gun)
    race = computed.race
    page.clock.install()
    page.goto(live_server.url + computed.url())
    expect(page.locator("#results-state")).to_contain_text("Live · provisional")
    eve = page.locator('#results-table tr[data-bib="105"]')
    # Still racing: with her place at the furthest point she passed.
    expect(eve.locator(".rank")).to_have_text(re.compile(r"^Racing \d+$"))

    # A file of reads imported (recompute_race; apply_reads would send spectators'
    # frames through the channel layer, which Playwright's event loop thread refuses).
    make_read(computed.points["Finish"], computed.entries["Eve"], 2000)
    recompute_race(race_id=race.pk)
    cache_clear_own()  # as the page cache's stamp expiring
    page.clock.fast_forward(31_000)
    expect(eve.locator(".rank")).to_have_text("1")
    expect(page.locator("#results-table tbody tr").first).to_contain_text("Eve Elm")
    assert page.js_errors == []


def test_an_athletes_page_shows_splits_chart_trace_and_certificate(
    page: Any, live_server: Any, alpha: Any, alice: Any
) -> None:
    computed = make_computed(alpha, publish_by=alice, course=make_course(alpha))
    _with_trace(computed, "Anna")
    page.goto(live_server.url + computed.url())
    page.click("text=Anna Alder")
    expect(page.locator("#athlete-name")).to_have_text("Anna Alder")
    expect(page.locator("#splits tbody tr")).to_have_count(2)
    expect(page.locator(".bar-chart .bar-fill")).to_have_count(2)
    expect(page.locator("#trace-map")).to_have_attribute("data-ready", "1")
    expect(page.locator("#trace-map path.trace-line")).to_have_count(1)
    expect(page.locator("#trace-map path.course-line")).to_have_count(1)
    _shot(page, "athlete.png")

    href = page.locator("#certificate-link").get_attribute("href")
    pdf = page.request.get(live_server.url + href)
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF-")
    folder = os.environ.get("PACE_SCREENSHOTS")
    if folder:
        (Path(folder) / "certificate.pdf").write_bytes(pdf.body())

    page.set_viewport_size(PHONE)
    page.reload()
    expect(page.locator("#trace-map")).to_have_attribute("data-ready", "1")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    _shot(page, "athlete-390.png")
    assert page.js_errors == []
