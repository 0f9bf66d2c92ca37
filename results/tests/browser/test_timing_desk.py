"""The timing desk in Chromium: a decoder file with a bad line imported in two steps, and
manual entry at the line with the keyboard alone."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from results.models import TimingRead
from results.tests.factories import make_entry
from results.tests.timing_fixtures import make_timed

pytestmark = pytest.mark.browser


def _shot(page: Any, name: str) -> None:
    """A screenshot for reviewing the page, when PACE_SCREENSHOTS names a folder."""
    folder = os.environ.get("PACE_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / name), full_page=True)


def test_an_organizer_imports_a_decoder_file_and_confirms_its_valid_part(
    page: Any, live_server: Any, log_in: Any, alice: Any, alpha: Any, tmp_path: Path
) -> None:
    timed = make_timed(alpha)
    decoder_file = tmp_path / "finish.csv"
    decoder_file.write_bytes(
        b"bib,time,point\n101,09:41:02.250,Finish\n102,9:99:00,Finish\n102,09:44:10,Finish\n"
    )
    log_in(alice, then=timed.url("import"))
    page.set_input_files("input[name=file]", str(decoder_file))
    page.click("#import-form input[type=submit]")

    expect(page.locator("#summary")).to_contain_text("2 valid reads")
    problem = page.locator("#problems tbody tr")
    expect(problem).to_have_count(1)
    expect(problem.locator("td.line")).to_have_text("3")
    expect(problem).to_contain_text("9:99:00 is not a time of day")
    expect(page.locator("#valid")).to_contain_text("Anna Alder")
    _shot(page, "import-preview.png")
    assert not TimingRead.objects.exists()

    page.click("#confirm-form input[type=submit]")
    page.wait_for_url(f"**{timed.url('change')}")
    expect(page.locator(".messagelist")).to_contain_text("2 read(s) stored")
    expect(page.locator("#reads tbody tr")).to_have_count(2)
    expect(page.locator("#reads")).to_contain_text("Ben Birch")
    assert sorted(TimingRead.objects.values_list("bib", flat=True)) == ["101", "102"]


def test_a_timer_enters_bibs_with_the_keyboard_and_undoes_a_mistake(
    page: Any, live_server: Any, log_in: Any, alice: Any, alpha: Any
) -> None:
    timed = make_timed(alpha)
    page.set_viewport_size({"width": 1024, "height": 768})  # a tablet on its side
    log_in(alice, then=timed.url("manual", timed.points["Finish"].pk))
    bib = page.locator("#manual-bib")
    expect(bib).to_be_focused()
    page.keyboard.type("101")
    page.keyboard.press("Enter")
    expect(page.locator("#manual-status")).to_have_text("Stored: 101")
    expect(bib).to_have_value("")
    expect(bib).to_be_focused()
    page.keyboard.type("999")
    page.keyboard.press("Enter")
    expect(page.locator("#manual-reads tbody tr")).to_have_count(2)
    page.keyboard.press("Control+z")  # the read just entered: 999, a mistyped bib
    expect(page.locator("#manual-status")).to_have_text("Undone.")
    expect(page.locator("#manual-reads tbody tr")).to_have_count(1)

    page.keyboard.press("Tab")  # a read taken earlier, noted on paper
    page.keyboard.type("09:05:03")
    page.keyboard.press("Shift+Tab")
    page.keyboard.type("102")
    page.keyboard.press("Enter")
    expect(page.locator("#manual-status")).to_have_text("Stored: 102 at 09:05:03")
    expect(page.locator("#manual-reads tbody tr")).to_have_count(2)
    expect(page.locator("#manual-reads")).to_contain_text("Anna Alder")
    expect(page.locator("#manual-reads")).to_contain_text("09:05:03.000")
    _shot(page, "manual-entry.png")
    assert sorted(TimingRead.objects.values_list("bib", flat=True)) == ["101", "102"]
    assert page.js_errors == []


def test_manual_entry_fits_a_phone_held_upright(
    page: Any, live_server: Any, log_in: Any, alice: Any, alpha: Any
) -> None:
    timed = make_timed(alpha)
    make_entry(timed.race, bib="10095", first_name="Maximiliane", last_name="Oberhuber-Santos")
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(alice, then=timed.url("manual", timed.points["Finish"].pk))
    page.keyboard.type("10095")
    page.keyboard.press("Enter")
    expect(page.locator("#manual-reads tbody tr")).to_contain_text("Oberhuber-Santos")
    _shot(page, "manual-entry-phone.png")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
