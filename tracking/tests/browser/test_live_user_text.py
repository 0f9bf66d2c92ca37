"""Names and posts that athletes and organizers type reach the live pages as text, never run.

A real daphne with its sockets: an athlete whose name holds markup tracks from the
tracker page and posts; a spectator watches the race, follows the athlete and
reads the posts.
"""

from __future__ import annotations

import json
import os
import re
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tracking.tests.serving import Server, daphne_server

pytestmark = pytest.mark.browser
SCREENSHOT = Path(os.environ.get("PACE_XSS_LIVE_SCREENSHOT", "/tmp/pace-xss-live.png"))

FIRST = '<img src=x onerror="window.__xss=1">'
LAST = "<script>window.__xss=2</script>"
RACE = '<img src=x onerror="window.__xss=3">'
EVENT = "<script>window.__xss=4</script>"
SPLIT = '<img src=x onerror="window.__xss=5">'
POST = '<img src=x onerror="window.__xss=6"> <script>window.__xss=7</script>'

# The test race (PROTOCOL.md §4) renamed in the transaction that creates it, so that
# the server's ticker never holds the old names.
CREATE = """
import json
from django.db import transaction
from events.models import Event, Race, Registration, SplitPoint
from tracking.sim.testrace import load_test_race_create
with transaction.atomic():
    data = load_test_race_create(athletes=3)
    race = Race.objects.get(pk=data["race_id"])
    athlete = data["athletes"][0]["id"]
    Registration.objects.filter(pk=athlete).update(first_name={first!r}, last_name={last!r})
    Race.objects.filter(pk=race.pk).update(name={race_name!r})
    Event.objects.filter(pk=race.event_id).update(name={event_name!r})
    splits = SplitPoint.objects.filter(course_id=race.course_id).order_by("distance_m")
    SplitPoint.objects.filter(pk=splits[1].pk).update(name={split!r})
print(json.dumps(data))
"""

# An athlete's phone in the page: hello, then one post (PROTOCOL.md §1). A post has no
# ack: the spectator's feed showing it is the proof it went through.
SEND_POST = """([token, text]) => new Promise((resolve, reject) => {
  const ws = new WebSocket(`ws://${location.host}/ws/track/?token=${token}`);
  ws.onmessage = (ev) => {
    const f = JSON.parse(ev.data);
    if (f.type === "welcome") {
      ws.send(JSON.stringify({type: "post", text}));
      resolve();
    }
    if (f.type === "error") { reject(new Error(ev.data)); }
  };
  ws.onerror = () => reject(new Error("tracker socket failed"));
})"""


def _hostile_race(server: Server) -> tuple[dict[str, Any], dict[str, Any]]:
    code = CREATE.format(first=FIRST, last=LAST, race_name=RACE, event_name=EVENT, split=SPLIT)
    race = json.loads(server.manage("shell", "-c", code).splitlines()[-1])
    return race, race["athletes"][0]


def _course_point(server: Server, course_url: str) -> tuple[float, float]:
    with urllib.request.urlopen(server.url + course_url, timeout=10) as response:
        coordinates = json.load(response)["geometry"]["coordinates"]
    lon, lat = coordinates[len(coordinates) // 8][:2]
    return lat, lon


def _assert_nothing_ran(page: Any) -> None:
    assert page.evaluate("typeof window.__xss") == "undefined"
    expect(page.locator("img[src=x], #live script, .track script")).to_have_count(0)


def test_it_shows_hostile_names_and_posts_as_text_on_the_tracker_and_live_pages(
    browser: Any, tmp_path: Path
) -> None:
    with daphne_server(tmp_path) as server:
        race, athlete = _hostile_race(server)
        lat, lon = _course_point(server, race["course_url"])
        # Chromium here resolves only "localhost" (see pace.browser_testing).
        base = server.url.replace("127.0.0.1", "localhost")
        context = browser.new_context(
            viewport={"width": 1280, "height": 860},
            geolocation={"latitude": lat, "longitude": lon, "accuracy": 5},
            permissions=["geolocation"],
        )
        context.set_default_timeout(15_000)
        errors: list[str] = []
        context.on("weberror", lambda error: errors.append(str(error.error)))
        try:
            # The athlete's phone: the tracker page, named from the hostile entry.
            phone = context.new_page()
            phone.goto(f"{base}/track/?token={athlete['token']}")
            card = phone.locator(".track-card[data-token]")
            expect(card.locator("h2")).to_have_text(f"{EVENT} · {RACE}")
            expect(card.locator("header .muted")).to_contain_text(f"{FIRST} {LAST}")
            card.locator(".start-tracking").click()
            connected = f"Connected as {FIRST} {LAST} (bib 1) in {EVENT} {RACE}."
            expect(card.locator(".tracker-log")).to_have_text(
                re.compile("^" + re.escape(connected))
            )
            phone.wait_for_function("Number(document.querySelector('.t-acked').textContent) >= 1")
            _assert_nothing_ran(phone)

            spectator = context.new_page()
            spectator.goto(f"{base}/live/{race['event_slug']}/{race['race_slug']}/")
            spectator.wait_for_selector("#live-status[data-state=live]")
            expect(spectator.locator("h1")).to_have_text(re.compile("^" + re.escape(RACE)))
            expect(spectator.locator(".live-crumbs a")).to_have_text(EVENT)

            # The leaderboard row, then the marker's tooltip once followed.
            row = spectator.locator(f"#board-body tr[data-id='{athlete['id']}']")
            expect(row.locator(".who")).to_contain_text(f"{FIRST} {LAST}")
            row.click()  # the athlete's panel, named as text; following them from it
            expect(spectator.locator("#ap-name")).to_have_text(f"{FIRST} {LAST}")
            spectator.click("#ap-follow")
            spectator.keyboard.press("Escape")
            tooltip = spectator.locator(".leaflet-tooltip", has_text="#1 ")
            expect(tooltip).to_have_text(f"#1 {FIRST} {LAST}")
            who = spectator.locator("#follow-list .fw-who .fw-name")
            expect(who).to_have_text(f"#1 {FIRST} {LAST}")

            # A split point's tooltip on the course.
            spectator.locator(".split-marker").nth(1).hover(force=True)
            split = spectator.locator(".leaflet-tooltip", has_text=" km")
            expect(split).to_have_text(re.compile("^" + re.escape(f"{SPLIT} · ")))

            # A post arriving live, then again from a fresh snapshot.
            phone.evaluate(SEND_POST, [athlete["token"], POST])
            spectator.click(".live-tabs button[data-tab=feed]")
            post = spectator.locator("#feed .feed-post").first
            expect(post.locator("p")).to_have_text(POST)
            expect(post.locator("strong")).to_have_text(f"#1 {FIRST} {LAST}")
            _assert_nothing_ran(spectator)
            spectator.screenshot(path=str(SCREENSHOT), full_page=True)

            spectator.reload()
            spectator.wait_for_selector("#live-status[data-state=live]")
            spectator.click(".live-tabs button[data-tab=feed]")
            expect(spectator.locator("#feed .feed-post p").first).to_have_text(POST)
            spectator.wait_for_function(
                f"document.querySelector(\"#board tr[data-id='{athlete['id']}']\")"
            )
            _assert_nothing_ran(spectator)
            _assert_nothing_ran(phone)
        finally:
            context.close()
        assert errors == []
