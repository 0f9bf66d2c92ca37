"""Year on year, participation, My results and the import preview in Chromium, on a
desktop and a phone (390 px: nothing wider than the screen), and the live feed's times
read as the results pages round them."""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from events.models import Event, Registration
from pace.lib.testing import cache_clear_own
from results.formatting import duration
from results.tests.pages import Computed, make_computed
from results.tests.timing_fixtures import make_timed

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


def _shot(page: Any, name: str) -> None:
    """A screenshot for reviewing the page, when PACE_SCREENSHOTS names a folder."""
    folder = os.environ.get("PACE_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / name), full_page=True)


def _fits(page: Any) -> None:
    """Nothing of the page reaches past the screen's width (tables scroll in their box)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], width


def _editions(alpha: Any, alice: Any) -> list[Computed]:
    made = [
        make_computed(alpha, f"Alpha 10K {year}", publish_by=alice, days_ahead=-days)
        for year, days in ((2024, 740), (2025, 375), (2026, 10))
    ]
    for older, newer in itertools.pairwise(made):
        Event.objects.filter(pk=newer.race.event_id).update(previous_edition=older.race.event)
    cache_clear_own()
    return made


def test_a_visitor_compares_a_races_editions_year_on_year(
    page: Any, live_server: Any, alpha: Any, alice: Any
) -> None:
    editions = _editions(alpha, alice)
    for size, name in ((DESKTOP, "desktop"), (PHONE, "phone")):
        page.set_viewport_size(size)
        page.goto(live_server.url + editions[-1].url("statistics"))
        rows = page.locator(".editions-table tbody tr")
        expect(rows).to_have_count(3)
        expect(rows.last).to_contain_text("(this race)")
        expect(page.locator("figure.bar-chart")).to_have_count(3)  # finish times, two editions
        _fits(page)
        _shot(page, f"year-on-year-{name}.png")
    page.locator(".editions-table tbody tr").first.locator("a").click()
    expect(page).to_have_url(f"{live_server.url}{editions[0].url('statistics')}")
    assert not page.js_errors


def test_an_organizer_sees_participation_over_the_years(
    page: Any, live_server: Any, log_in: Any, alpha: Any, alice: Any
) -> None:
    _editions(alpha, alice)
    log_in(alice, then="/admin/results/resultspublication/participation/")
    for size, name in ((DESKTOP, "desktop"), (PHONE, "phone")):
        page.set_viewport_size(size)
        page.reload()
        section = page.locator("section.pace-editions")
        expect(section).to_have_count(1)
        expect(section.locator("tbody tr")).to_have_count(3)
        expect(section.locator("figure.bar-chart .bar")).to_have_count(3)
        _shot(page, f"participation-{name}.png")


def test_an_athlete_finds_every_edition_in_my_results(
    page: Any, live_server: Any, log_in: Any, alpha: Any, alice: Any, dave: Any
) -> None:
    editions = _editions(alpha, alice)
    for computed in editions:
        entry = computed.entries["Anna"]
        Registration.objects.filter(pk=entry.pk).update(user=dave)
    log_in(dave, then="/results/mine/")
    for size, name in ((DESKTOP, "desktop"), (PHONE, "phone")):
        page.set_viewport_size(size)
        page.reload()
        for computed in editions:
            expect(page.locator("main")).to_contain_text(computed.race.event.name)
        _fits(page)
        _shot(page, f"my-results-{name}.png")


def test_the_live_feed_rounds_times_as_the_results_pages_do(
    page: Any, live_server: Any, alpha: Any, alice: Any
) -> None:
    computed = make_computed(alpha, publish_by=alice)
    page.goto(f"{live_server.url}/live/{computed.race.event.slug}/{computed.race.slug}/")
    page.wait_for_function("window.PaceLive && window.PaceLive.duration")
    for ms in (2_450_000, 2_450_001, 2_450_999, 3_599_500, 3_600_000, 59_001):
        shown = page.evaluate("s => window.PaceLive.duration(s)", ms / 1000)
        # The feed leaves out "0:" hours; the seconds agree.
        assert duration(ms).removeprefix("0:").lstrip("0") == shown.lstrip("0"), (ms, shown)


def test_the_import_preview_fits_a_phone(
    page: Any, live_server: Any, log_in: Any, alice: Any, alpha: Any, tmp_path: Path
) -> None:
    timed = make_timed(alpha)
    decoder_file = tmp_path / "finish.csv"
    decoder_file.write_bytes(
        b"bib,time,point\n101,09:41:02.250,Finish\n"
        b"102,9:99:00,Finish\n103,09:44:10,Somewhere far along the course\n"
    )
    page.set_viewport_size(PHONE)
    log_in(alice, then=timed.url("import"))
    page.set_input_files("input[name=file]", str(decoder_file))
    page.click("#import-form input[type=submit]")
    expect(page.locator("#summary")).to_contain_text("1 valid read")
    expect(page.locator("#problems tbody tr")).to_have_count(2)
    _fits(page)
    confirm = page.locator("#confirm-form input[type=submit]")
    box = confirm.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    _shot(page, "import-preview-phone.png")
