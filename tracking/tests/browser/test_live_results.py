"""A spectator watching the live demo sees split results arrive, and the results page has them.

Real daphne with the demo loaded (``seed_demo``), simulated athletes on the live demo
race, a decoder's read pushed to ``/timing/reads/``, Chromium. The results app sits above
tracking and is only driven from outside here (the server's own process), as a timer's
equipment and a spectator would.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from pace.lib.testing import eventually
from tracking.tests.serving import Server, daphne_server, manage, seeded_db, sqlite_env

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(os.environ.get("PACE_LIVE_SCREENSHOT_DIR", "/tmp"))
# The live demo race, started now, its entries and a timing token of it, from the server's
# database (a copy of a demo seeded earlier).
# A split at 400 m is added to its course (the demo's first is at 5 km), so that athletes
# cross one soon (about 20 s at 8x) at a speed the live engine still takes for running
# (its limit is 40 m/s).
SETUP = """
import json
from django.contrib.auth import get_user_model
from django.utils import timezone
from events.demo import live_demo_race
from events.demo.live import restart_live_race
from events.models import SplitPoint
from results.points import ensure_timing_points
from results.timing_tokens import timing_token_create
race = live_demo_race()
restart_live_race(race, timezone.now().replace(microsecond=0))
SplitPoint.objects.create(course=race.course, name="400 m", distance_m=400)
ensure_timing_points(race=race)
admin = get_user_model().objects.get(email="admin@pace.local")
_, secret = timing_token_create(race=race, name="5 km mat", actor=admin)
print(json.dumps({
    "race_id": race.pk, "event_slug": race.event.slug, "race_slug": race.slug,
    "start": race.start_time.timestamp(), "token": secret,
    "bibs": {r.pk: r.bib for r in race.registrations.all()},
}))
"""
# Whole seconds: the feed rounds a time, the results pages round it up.
SPLIT_AFTER = dt.timedelta(minutes=24, seconds=13)
FINISH_AFTER = dt.timedelta(minutes=49, seconds=2)


def _at(gun: dt.datetime, after: dt.timedelta) -> str:
    return (gun + after).isoformat()


def _push(server: Server, token: str, reads: list[dict[str, Any]]) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{server.url}/timing/reads/",
        data=json.dumps({"reads": reads}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        body: dict[str, Any] = json.loads(answer.read())
        return body


def test_it_shows_split_results_arriving_and_on_the_results_page(
    browser: Any, tmp_path: Path
) -> None:
    # Loaded before the server starts, so its ticker reads the course as the test left it.
    env = sqlite_env(seeded_db(tmp_path / "db.sqlite3"))
    race = json.loads(manage(env, "shell", "-v", "0", "-c", SETUP))
    with daphne_server(tmp_path, env=env) as server:
        sim = server.simulate(
            race["race_id"], "--athletes", "12", "--speed", "8", "--duration", "150",
            "--osmand-share", "0", "--seed", "3",
        )  # fmt: skip
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(20_000)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        try:
            base = server.url.replace("127.0.0.1", "localhost")  # see pace.browser_testing
            page.goto(f"{base}/live/{race['event_slug']}/{race['race_slug']}/")
            page.wait_for_selector("#live-status[data-state=live]")
            page.wait_for_function(
                "document.querySelectorAll('#board-body tr[data-id] td.rank').length >= 5"
            )
            row = page.locator("#board-body tr[data-id]").first
            athlete = row.get_attribute("data-id")
            bib = race["bibs"][athlete]
            row.click()  # the athlete's panel: follow them
            page.click("#ap-follow")
            page.keyboard.press("Escape")
            page.wait_for_selector("#live-follow:not([hidden])")
            page.click(".live-tabs button[data-tab=feed]")

            # The 5 km and finish mats' decoder reads the followed athlete: results times
            # each read and sends its result frame, which the page lines up in its feed
            # (with the overall rank at the finish; a split's frame has none).
            gun = dt.datetime.fromtimestamp(race["start"], tz=dt.UTC)
            answer = _push(server, race["token"], [
                {"id": "mat5-1", "bib": bib, "point": "5 km", "time": _at(gun, SPLIT_AFTER)},
                {"id": "finish-1", "bib": bib, "point": "Finish", "time": _at(gun, FINISH_AFTER)},
            ])  # fmt: skip
            assert answer["stored"] == 2, answer
            split = page.locator("#feed li.feed-result", has_text="passed 5 km in 24:13")
            expect(split).to_have_count(1)
            expect(split).to_contain_text(f"#{bib} ")
            finish = page.locator("#feed li.feed-result", has_text="finished in 49:02 (1st)")
            expect(finish).to_have_count(1)
            # Athletes' phones take them over the 400 m split: GPS crossings, framed by the
            # tick, and stored by results as reads of the same point.
            gps = page.locator("#feed li.feed-result", has_text="passed 400 m in").first
            expect(gps).to_be_visible(timeout=90_000)
            page.screenshot(path=str(SCREENSHOTS / "pace-live-results-feed.png"), full_page=True)

            results = f"{base}/results/{race['event_slug']}/{race['race_slug']}/"
            page.goto(results)
            expect(page.locator("#results-state")).to_contain_text("Live · provisional")
            mine = page.locator(f"#results-table tr[data-bib='{bib}']")
            expect(mine.locator("td.rank")).to_have_text("1")
            expect(mine.locator("td.time")).to_have_text("0:49:02")
            # Others than the athlete the mat read are there too: GPS made their results
            # (the page is cached for a few seconds: read again until they show).
            rows = page.locator("#results-table tbody tr")

            def others_listed() -> None:
                if rows.count() < 2:
                    page.reload()
                    raise AssertionError("only the athlete the mat read is listed")

            eventually(others_listed, timeout=60)
            page.screenshot(path=str(SCREENSHOTS / "pace-live-results-page.png"), full_page=True)
            page.goto(f"{results}{bib}/")
            expect(page.locator("#splits")).to_contain_text("0:24:13")
        finally:
            context.close()
            sim.terminate()
            sim.communicate(timeout=20)
        assert errors == []
