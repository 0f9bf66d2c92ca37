"""A spectator watches a race live: real daphne, real ticker, simulated athletes, Chromium."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from pace.lib.testing import assert_endless_animations_composited
from tracking.fanout.spectators import COOKIE
from tracking.tests.serving import daphne_server, migrated_db, sqlite_env

pytestmark = pytest.mark.browser
SCREENSHOT = Path(os.environ.get("PACE_LIVE_SCREENSHOT", "/tmp/pace-live-page.png"))
# Where every athlete's marker is drawn (a circle marker's SVG path).
MARKERS = (
    "() => [...document.querySelectorAll('.athlete-marker')].map(m => m.getAttribute('d')).join()"
)


def test_it_shows_athletes_moving_on_the_map_and_the_leaderboard(
    browser: Any, tmp_path: Path
) -> None:
    # Kudos from a socket without a spectator id refused outright: the page's kudos
    # below go through only as the browser's own (its pace_spectator cookie).
    env = sqlite_env(migrated_db(tmp_path / "db.sqlite3")) | {
        "RATE_LIMIT_KUDOS_COOKIELESS_IP": "0/m"
    }
    with daphne_server(tmp_path, env=env) as server:
        race = server.test_race(athletes=12)
        # Ended below: it runs as long as the test does, so the map moves throughout.
        sim = server.simulate(
            race["race_id"], "--athletes", "12", "--speed", "40", "--duration", "120",
            "--osmand-share", "0.25", "--seed", "5",
        )  # fmt: skip
        context = browser.new_context(viewport={"width": 1280, "height": 860})
        context.set_default_timeout(15_000)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        try:
            # Chromium here resolves only "localhost" (see pace.browser_testing).
            base = server.url.replace("127.0.0.1", "localhost")
            page.goto(f"{base}/live/{race['event_slug']}/{race['race_slug']}/")
            page.wait_for_selector("#live-status[data-state=live]")
            assert_endless_animations_composited(page)  # the badge pulses while live
            # The page is live from the snapshot, before the simulator's phones (started just
            # above, slow to connect on a busy machine) have sent their first fixes, and the
            # map's script comes after the board: the markers may take a while longer.
            page.wait_for_function(
                "document.querySelectorAll('.athlete-marker').length >= 10", timeout=60_000
            )
            page.wait_for_function(
                "document.querySelectorAll('#board-body tr[data-id] td.rank').length >= 10"
                " && [...document.querySelectorAll('#board-body td.rank')]"
                ".some(td => td.textContent === '1')"
            )
            expect(page.locator(".course-line")).to_have_count(1)
            # Rows move as athletes pass each other: follow the leader of now by its id.
            leader = page.locator("#board-body tr[data-id]").first.get_attribute("data-id")
            row = page.locator(f"#board-body tr[data-id='{leader}']")
            name = row.locator(".nm").inner_text()
            row.click()  # opens the athlete's panel, where they are followed
            page.click("#ap-follow")
            page.keyboard.press("Escape")
            page.wait_for_selector("#live-follow:not([hidden]) .kudos")
            expect(page.locator("#follow-list")).to_contain_text(name.lstrip("☆★"))
            page.click("#follow-list .kudos")
            page.wait_for_selector("#follow-list .kudos .kc")  # the server's running total
            spectator = [c for c in context.cookies() if c["name"] == COOKIE]
            assert len(spectator) == 1  # signed with the server's key, which it checked
            assert spectator[0]["httpOnly"] and spectator[0]["sameSite"] == "Lax"
            # Still live after following: a later tick moves a marker on the map.
            drawn = page.evaluate(MARKERS)
            page.wait_for_function(f"before => ({MARKERS})() !== before", arg=drawn)
            page.screenshot(path=str(SCREENSHOT), full_page=True)
            page.set_viewport_size({"width": 390, "height": 844})
            # Leaflet redraws for a new size on the next animation frame.
            page.evaluate(
                "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
            )
            page.screenshot(path=str(SCREENSHOT.with_suffix(".mobile.png")), full_page=True)
        finally:
            context.close()
            sim.terminate()
            sim.communicate(timeout=20)
        assert errors == []
