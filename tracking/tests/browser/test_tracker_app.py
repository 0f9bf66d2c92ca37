"""The athlete's tracker as an installed app, in Chromium against a real daphne.

A phone with a fake position tracks, loses its signal, keeps its fixes, is reloaded
with no signal (the service worker serves the page), comes back and every fix is
stored exactly once; kudos, race control's messages and an SOS go both ways.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from pace.lib.testing import assert_endless_animations_composited
from tracking.tests.serving import daphne_server, migrated_db, sqlite_env

pytestmark = pytest.mark.browser
SCREENSHOT = Path(os.environ.get("PACE_TRACK_SCREENSHOT", "/tmp/pace-track-page.png"))
CACHED_PAGE = """async () => {
  for (const name of await caches.keys()) {
    const keys = await (await caches.open(name)).keys();
    const page = r => new URL(r.url).pathname === '/track/' && r.url.includes('token=');
    if (keys.some(page)) return true;
  }
  return false;
}"""


def _rows(db: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, args).fetchall()


def _course(url: str) -> list[tuple[float, float]]:
    with urllib.request.urlopen(url, timeout=10) as response:
        feature = json.load(response)
    return [(lat, lon) for lon, lat, *_ in feature["geometry"]["coordinates"]]


def test_the_tracker_buffers_offline_reopens_offline_and_stores_each_fix_once(
    browser: Any, tmp_path: Path
) -> None:
    with daphne_server(tmp_path) as server:
        race = server.test_race(athletes=3)
        athlete = race["athletes"][0]
        assert server.db is not None
        # Chromium here resolves only "localhost" (see pace.browser_testing): a secure
        # context too, as service workers need.
        base = server.url.replace("127.0.0.1", "localhost")
        course = _course(base + race["course_url"])
        walk = iter(course[1:80])
        sent: list[tuple[float, float]] = []
        lat, lon = course[0]
        context = browser.new_context(
            viewport={"width": 390, "height": 844},
            geolocation={"latitude": lat, "longitude": lon},
            permissions=["geolocation"],
            device_scale_factor=2,
        )
        context.set_default_timeout(20_000)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))

        def move(n: int) -> None:
            """Walk n fixes along the course, each one seen by the page."""
            for _ in range(n):
                lat, lon = next(walk)
                before = page.evaluate("() => window.paceTrackers[0].meta.lastFix")
                context.set_geolocation({"latitude": lat, "longitude": lon})
                page.wait_for_function(
                    "([lat, lon]) => { const f = window.paceTrackers[0].meta.lastFix;"
                    " return f && f.lat === lat && f.lon === lon; }",
                    arg=[lat, lon],
                )
                assert before is None or (before["lat"], before["lon"]) != (lat, lon)
                sent.append((lat, lon))

        try:
            page.goto(f"{base}/track/?token={athlete['token']}")
            card = page.locator(".track-card")
            expect(card.locator(".t-status")).to_have_attribute("data-state", "ready")
            page.wait_for_function(CACHED_PAGE)  # the service worker keeps the page

            card.locator(".start-tracking").click()
            expect(card.locator(".t-status")).to_have_attribute("data-state", "live")
            assert_endless_animations_composited(page)  # the dot pulses for the whole race
            page.wait_for_function("() => window.paceTrackers[0].meta.lastFix")
            sent.append(
                tuple(
                    page.evaluate(
                        "() => Object.values(window.paceTrackers[0].meta.lastFix).slice(0, 2)"
                    )
                )
            )
            move(4)
            expect(card.locator(".t-pending")).to_have_text("0", timeout=30_000)
            online_rows = _rows(server.db, "SELECT count(*) FROM tracking_position")[0][0]
            assert online_rows == len(sent)

            # A spectator cheers: the kudos reach the tracker.
            spectator = context.new_page()
            spectator.goto(f"{base}/live/{race['event_slug']}/{race['race_slug']}/")
            spectator.wait_for_selector("#live-status[data-state=live]")
            spectator.evaluate(
                "id => new Promise(ok => { const ws = new WebSocket("
                f"'ws://' + location.host + '/ws/live/{race['race_id']}/');"
                " ws.onopen = () => { ws.send(JSON.stringify({type: 'kudos', athlete: id}));"
                " ok(); }; })",
                athlete["id"],
            )
            expect(card.locator(".t-kudos")).to_have_text("1")
            expect(card.locator(".tracker-log")).to_contain_text("Kudos from")
            spectator.close()

            # No signal: fixes pile up on the phone, none is sent.
            context.set_offline(True)
            expect(card.locator(".t-status")).to_have_attribute("data-state", "offline")
            move(5)
            expect(card.locator(".t-pending")).to_have_text("5")
            # Race control writes while the phone is away: it gets it on its return.
            server.manage(
                "shell", "-c",
                "from tracking.ingest.race_messages import send_message_to_athletes; "
                f"send_message_to_athletes({race['race_id']}, 'Storm at km 8: take the low path', "
                "'Race control')",
            )  # fmt: skip

            # Reloaded with no signal (or the phone restarted): the service worker's copy
            # opens, the fixes are still there, and tracking goes on by itself.
            page.reload()
            expect(page.locator(".t-offline-note")).to_be_visible()
            page.wait_for_function("() => window.paceTrackers && window.paceTrackers[0].running")
            # Restarted, the watch hands back the fix it had (the same: not kept twice).
            expect(card.locator(".t-pending")).to_have_text("5")
            move(3)
            expect(card.locator(".t-pending")).to_have_text("8")
            page.screenshot(path=str(SCREENSHOT.with_suffix(".offline.png")))
            assert _rows(server.db, "SELECT count(*) FROM tracking_position")[0][0] == online_rows

            # Back online: everything is sent, and stored once.
            context.set_offline(False)
            expect(card.locator(".t-status")).to_have_attribute("data-state", "live")
            expect(card.locator(".t-pending")).to_have_text("0", timeout=30_000)
            expect(card.locator(".t-message-list")).to_contain_text("Storm at km 8")
            stored = _rows(
                server.db,
                "SELECT lat, lon FROM tracking_position WHERE registration_id = ?",
                athlete["id"],
            )
            assert sorted(stored) == sorted(sent)  # each fix once, none lost
            assert len(stored) == len(set(sent)) == 13

            # A post to spectators, and an SOS (with a confirm step).
            card.locator(".t-post textarea").fill("Halfway, legs still good!")
            card.locator(".t-post button").click()
            expect(card.locator(".t-post-note")).to_contain_text("Posted")
            card.locator(".btn-sos").click()
            expect(card.locator(".t-sos-confirm")).to_be_visible()
            card.locator(".t-sos-text").fill("Twisted ankle")
            card.locator(".sos-send").click()
            expect(card.locator(".t-sos-status")).to_contain_text("Race control has your SOS")
            calls = _rows(server.db, "SELECT registration_id, text, lat, lon FROM tracking_soscall")
            assert calls == [(athlete["id"], "Twisted ankle", *sent[-1])]
            posts = _rows(server.db, "SELECT text FROM tracking_post")
            assert posts == [("Halfway, legs still good!",)]

            # Its standing from the ticker (the fixes are on the course).
            expect(card.locator(".t-distance")).to_contain_text("km")
            expect(card.locator(".t-rank")).to_have_text("#1")
            page.evaluate("() => window.scrollTo(0, 0)")
            page.screenshot(path=str(SCREENSHOT), full_page=True)

            # A tracker app set up from the page: its first fix shows there.
            card.locator("details.app summary").click()
            expect(card.locator(".t-first-fix")).to_contain_text("Waiting for the first")
            expect(card.locator(".qr svg")).to_have_count(2)
            device = card.locator("code.device-id").inner_text()
            lat, lon = course[-1]
            query = f"id={device}&lat={lat}&lon={lon}&timestamp={int(time.time())}"
            with urllib.request.urlopen(f"{base}/osmand/?{query}", timeout=10) as answer:
                assert answer.status == 200
            expect(card.locator(".t-first-fix")).to_contain_text("arrived at")
            card.locator("details.app").screenshot(path=str(SCREENSHOT.with_suffix(".app.png")))
            # A second tab of the same entry waits: one tab numbers the batches.
            second = context.new_page()
            second.goto(f"{base}/track/?token={athlete['token']}")
            expect(second.locator(".t-status")).to_contain_text("another tab")
            second.locator(".start-tracking").click()
            expect(second.locator(".tracker-log")).to_contain_text("another tab")
            second.close()
            page.set_viewport_size({"width": 1280, "height": 800})
            page.evaluate("() => window.scrollTo(0, 0)")
            page.screenshot(path=str(SCREENSHOT.with_suffix(".desktop.png")), full_page=True)
            assert errors == []
        finally:
            context.close()


def test_a_refused_tracker_waits_as_long_as_the_server_asks(browser: Any, tmp_path: Path) -> None:
    """A server over its limit closes the socket 1013 ``retry=S`` (PROTOCOL.md "Overload
    and reconnects"): the tracker waits S seconds or a little more, never less."""
    env = sqlite_env(migrated_db(tmp_path / "db.sqlite3")) | {"RATE_LIMIT_WS_CONNECT_IP": "1/h"}
    with daphne_server(tmp_path, env=env) as server:
        race = server.test_race(athletes=1)
        athlete = race["athletes"][0]
        base = server.url.replace("127.0.0.1", "localhost")
        lat, lon = _course(base + race["course_url"])[0]
        context = browser.new_context(
            viewport={"width": 390, "height": 844},
            geolocation={"latitude": lat, "longitude": lon},
            permissions=["geolocation"],
        )
        context.set_default_timeout(20_000)
        page = context.new_page()
        try:
            page.goto(f"{base}/track/?token={athlete['token']}")
            card = page.locator(".track-card")
            card.locator(".start-tracking").click()
            expect(card.locator(".t-status")).to_have_attribute("data-state", "live")
            # The signal drops and returns: the second socket of the hour is refused.
            context.set_offline(True)
            expect(card.locator(".t-status")).to_have_attribute("data-state", "offline")
            context.set_offline(False)
            page.wait_for_function("() => window.paceTrackers[0].lastRetry")
            retry = page.evaluate("() => window.paceTrackers[0].lastRetry")
            assert retry["hint"] >= 1
            assert retry["hint"] <= retry["delay"] <= retry["hint"] * 1.5
            expect(card.locator(".tracker-log")).to_contain_text("Retrying in")
            expect(card.locator(".t-status")).to_have_attribute("data-state", "offline")
        finally:
            context.close()
