"""Chromium: an athlete uploads a GPX and sees its route coloured by the tracks that
played, with a legend and a table per track, on a phone and on a laptop."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from integrations.models import Play
from integrations.selectors import PALETTE, SILENCE
from integrations.tests.activity_files import START

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
FILES = Path(__file__).parent.parent / "files"
# Where the screenshots go (PACE_SCREENSHOTS to look at them; a temporary dir otherwise).
SHOTS = os.environ.get("PACE_SCREENSHOTS")


def _play(user: Any, track: str, artist: str, minute: int, minutes: int) -> None:
    started = START + dt.timedelta(minutes=minute)
    Play.objects.create(
        user=user, source="spotify", track=track, artist=artist, started_at=started,
        played_at=started + dt.timedelta(minutes=minutes), duration_ms=minutes * 60_000,
    )  # fmt: skip


def _hex(colour: str) -> str:
    return colour.lower()


def test_it_draws_the_uploaded_route_coloured_by_track(
    page: Any, live_server: Any, log_in: Any, dave: Any, tmp_path: Path
) -> None:
    _play(dave, "Lose Yourself", "Eminem", -1, 4)
    _play(dave, "<b>Run</b> Boy Run", "Woodkid", 3, 4)
    log_in(dave, then="/me/activities/")
    page.set_input_files(
        "input[type=file]",
        files=[{"name": "cut.fit", "mimeType": "application/octet-stream",
                "buffer": (FILES / "run.fit").read_bytes()[:900]}],
    )  # fmt: skip
    page.click("[data-testid=upload]")
    expect(page.locator("[data-testid=upload-error]")).to_contain_text("cut short")
    shots = Path(SHOTS) if SHOTS else tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(shots / "upload-error-390.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.set_input_files("input[type=file]", str(FILES / "run.gpx"))
    page.click("[data-testid=upload]")
    page.wait_for_url(f"{live_server.url}/me/activities/*/")
    expect(page.locator("#activity-map[data-ready='1']")).to_be_visible()
    legend = page.locator("[data-testid=track-legend] li")
    expect(legend).to_have_count(3)
    expect(legend.nth(1)).to_contain_text("<b>Run</b> Boy Run")  # as text, not markup
    lines = page.locator("#activity-map path.leaflet-interactive")
    expect(lines).to_have_count(3)
    strokes = [_hex(lines.nth(i).get_attribute("stroke") or "") for i in range(3)]
    assert strokes == [_hex(PALETTE[0]), _hex(PALETTE[1]), _hex(SILENCE)]
    rows = page.locator("[data-testid=track-table] tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Lose Yourself")
    assert page.js_errors == []
    for width, height in ((1280, 800), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(shots / f"activity-{width}.png"), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page scrolls sideways at {width} px"
