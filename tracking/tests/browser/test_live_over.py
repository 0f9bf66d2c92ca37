"""A race's live page (and its embed) once the race is over (its tracking window closed):
it says so, its clock stops, and it points to what comes after (the replay, the results),
even while the socket still brings a snapshot, instead of a "LIVE" badge over a clock
counting on."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from events.models import Race
from tracking.sim.pastrace import past_race_positions_create
from tracking.sim.testrace import load_test_race_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path(os.environ.get("PACE_LIVE_SCREENSHOT_DIR", "/tmp"))


def _race(hours_ago: float) -> Race:
    data = load_test_race_create(athletes=3)
    race = Race.objects.select_related("event", "course").get(pk=data["race_id"])
    race.start_time = timezone.now() - dt.timedelta(hours=hours_ago)
    race.time_limit = dt.timedelta(hours=2)
    race.save()
    return race


def _serve_snapshot(page: Any, race: Race) -> None:
    snapshot = json.dumps(
        {"type": "snapshot", "seq": 3, "t": timezone.now().timestamp(), "athletes": [],
         "field": [], "posts": [], "race": {"id": race.pk, "start": race.start_time.timestamp()}}
    )  # fmt: skip
    page.route_web_socket("**/ws/live/**", lambda ws: ws.send(snapshot))


def test_a_race_over_says_so_and_links_its_replay(page: Any, live_server: Any) -> None:
    race = _race(hours_ago=40 * 24)
    past_race_positions_create(race=race, every=60)
    _serve_snapshot(page, race)
    page.set_default_timeout(30_000)
    page.clock.install()
    page.goto(f"{live_server.url}/live/{race.event.slug}/{race.slug}/")
    expect(page.locator("#live-status")).to_have_text("Race over")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "over")
    expect(page.locator("#live-clock")).to_have_text("Over")
    over = page.locator("#live-over")
    expect(over).to_be_visible()
    replay = over.get_by_role("link", name="Replay")
    expect(replay).to_have_attribute("href", f"/live/{race.event.slug}/{race.slug}/replay/")
    page.clock.run_for(5_000)  # the clock's next ticks: still over, not counting
    expect(page.locator("#live-clock")).to_have_text("Over")
    page.screenshot(path=str(SHOTS / "pace-live-over.png"))
    # The organizer's widget on their own site says so too.
    page.goto(f"{live_server.url}/embed/{race.event.slug}/{race.slug}/")
    expect(page.locator("#embed-status")).to_have_text("Race over")


def test_a_race_under_way_is_live_with_its_clock_running(page: Any, live_server: Any) -> None:
    race = _race(hours_ago=0.5)
    _serve_snapshot(page, race)
    page.set_default_timeout(30_000)
    page.goto(f"{live_server.url}/live/{race.event.slug}/{race.slug}/")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    expect(page.locator("#live-clock")).to_have_text(re.compile(r"^(29|30|31):\d\d$"))
    expect(page.locator("#live-over")).to_be_hidden()
