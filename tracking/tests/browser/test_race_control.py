"""Race control as an organizer uses it: real daphne, real ticker, simulated athletes (one
sent off course), real Chromium. The off-course athlete shows in its list, an athlete's
SOS (from the tracker socket) rings in at once, the crew view projects the finish, and
marking DNF reaches the spectators' board."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from websockets.sync.client import connect as ws_connect

from pace.lib.testing import (
    MARKERS_IN_TAB_ORDER,
    PASSWORD,
    assert_endless_animations_composited,
)
from tracking.tests.serving import daphne_server, migrated_db, sqlite_env

pytestmark = pytest.mark.browser
SCREENSHOT = Path(os.environ.get("PACE_CONTROL_SCREENSHOT", "/tmp/pace-race-control.png"))

STAFF = """
from events.models import Membership, Race
from events.tests.factories import make_user
from tracking.models import RaceSafety
race = Race.objects.select_related("event").get(pk={race_id})
user = make_user("desk")
Membership.objects.create(organizer=race.event.organizer, user=user, role="staff")
RaceSafety.objects.create(race=race, off_course_m=150, contacts="safety@example.com")
"""


def _phone(server_url: str, token: str, sent: dict[str, Any], until: tuple[str, ...]) -> Any:
    """An athlete's tracker socket (PROTOCOL.md §1) sends a frame; the answer awaited."""
    url = server_url.replace("http", "ws", 1) + f"/ws/track/?token={token}"
    with ws_connect(url, open_timeout=20) as phone:
        phone.send(json.dumps(sent))
        while True:
            frame = json.loads(phone.recv(timeout=20))
            if frame["type"] in (*until, "error"):
                return frame


def _sos(server_url: str, token: str, text: str) -> dict[str, Any]:
    """An athlete presses SOS on the tracker; race control's answer."""
    return _phone(server_url, token, {"type": "sos", "text": text}, ("sos_received",))


def test_race_control_shows_off_course_and_sos_and_marks_dnf(browser: Any, tmp_path: Path) -> None:
    env = sqlite_env(migrated_db(tmp_path / "db.sqlite3"))
    with daphne_server(tmp_path, env=env) as server:
        race = server.test_race(athletes=8)
        server.manage("shell", "-c", STAFF.format(race_id=race["race_id"]))
        sim = server.simulate(
            race["race_id"], "--athletes", "8", "--speed", "30", "--duration", "150",
            "--osmand-share", "0", "--off-course", "1", "--seed", "4",
        )  # fmt: skip
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.set_default_timeout(30_000)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("dialog", lambda dialog: dialog.accept("Lost on the ridge, picked up"))
        try:
            base = server.url.replace("127.0.0.1", "localhost")
            control = f"/control/{race['event_slug']}/{race['race_slug']}/"
            page.goto(f"{base}/accounts/login/?next={control}")
            page.fill("input[name=login]", "desk@example.com")
            page.fill("input[name=password]", PASSWORD)
            page.click("main form button[type=submit]")
            page.wait_for_url(f"{base}{control}")
            page.wait_for_selector("#rc-live[data-state=live]")
            page.wait_for_selector("#rc-control[data-state=live]")
            page.wait_for_function("document.querySelectorAll('.athlete-marker').length >= 6")
            assert page.evaluate(MARKERS_IN_TAB_ORDER) == 0
            # The simulator sends its first athlete 800 m off the course after 300 m.
            row = page.locator("#list-off_course li.rc-alert").first
            row.wait_for(timeout=60_000)
            off_id = int(row.get_attribute("data-athlete") or 0)
            assert off_id == race["athletes"][0]["id"]
            detail = row.locator(".rc-detail").inner_text()
            assert re.fullmatch(r"\d+ m from the course", detail) and int(detail.split()[0]) > 150
            expect(page.locator("#count-off_course")).to_have_text("1")
            # An SOS from another athlete's tracker: at once, with its words, as text.
            answer = _sos(
                server.url, race["athletes"][1]["token"], "Fell <b>hard</b> at the bridge"
            )
            assert answer["type"] == "sos_received"
            sos = page.locator("#sos-panel")
            expect(sos).to_be_visible(timeout=5_000)
            expect(sos).to_contain_text("“Fell <b>hard</b> at the bridge”")
            expect(page.locator("#count-sos")).to_have_text("1")
            assert_endless_animations_composited(page)  # the alarm, for as long as it is open
            page.screenshot(path=str(SCREENSHOT))
            page.set_viewport_size({"width": 390, "height": 844})
            page.evaluate(
                "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
            )
            page.screenshot(path=str(SCREENSHOT.with_suffix(".mobile.png")), full_page=True)
            page.set_viewport_size({"width": 1280, "height": 800})
            sos.locator(".b-ack").click()
            expect(sos).to_be_hidden()
            # The crew view projects the athlete's arrival at every split still ahead.
            row.locator(".b-crew").click()
            expect(page.locator("#crew-card")).to_be_visible()
            expect(page.locator("#crew-splits tr").last).to_contain_text(re.compile(r"\d\d:\d\d"))
            page.screenshot(path=str(SCREENSHOT.with_suffix(".crew.png")))
            # A message to every athlete, from the Messages tab, reaches a tracker.
            page.locator(".rc-tabs [data-tab=messages]").click()
            page.fill("#message-text", "Storm at 15:00: shelter at the aid stations")
            page.locator("#message-form button[type=submit]").click()
            expect(page.locator("#sent-list li").first).to_contain_text("To every athlete")
            got = _phone(
                server.url, race["athletes"][3]["token"],
                {"type": "hello", "messages_since": 0}, ("message",),
            )  # fmt: skip
            assert got["text"] == "Storm at 15:00: shelter at the aid stations"
            # A post from the course, hidden from race control, leaves the spectators' feed.
            spectator = context.new_page()
            spectator.goto(f"{base}/live/{race['event_slug']}/{race['race_slug']}/")
            spectator.wait_for_selector("#live-status[data-state=live]")
            # (Frames are handled in order: the post is stored before the socket closes.)
            _phone(
                server.url,
                race["athletes"][4]["token"],
                {"type": "post", "text": "Rude"},
                ("welcome",),
            )
            page.locator(".rc-tabs [data-tab=posts]").click()
            post = page.locator("#post-list li", has_text="Rude")
            expect(post).to_be_visible()
            spectator.locator("[data-tab=feed]").click()
            expect(spectator.locator("#feed")).to_contain_text("Rude")
            page.set_viewport_size({"width": 390, "height": 844})
            page.screenshot(path=str(SCREENSHOT.with_suffix(".posts.mobile.png")), full_page=True)
            page.set_viewport_size({"width": 1280, "height": 800})
            post.locator(".b-hide").click()
            expect(post).to_have_count(0)
            # Gone from the screen of the spectator watching (post_hidden), no reload.
            expect(spectator.locator("#feed")).not_to_contain_text("Rude", timeout=5_000)
            # Hidden from new snapshots: a spectator arriving (or reloading) no longer gets it.
            spectator.reload()
            spectator.wait_for_selector("#live-status[data-state=live]")
            spectator.locator("[data-tab=feed]").click()
            expect(spectator.locator("#feed")).not_to_contain_text("Rude")
            # DNF from race control: the row says so, and the spectators' board shows it.
            page.locator(".rc-tabs [data-tab=crew]").click()
            page.locator("#panel-crew #crew-dnf").click()
            expect(page.locator("#crew-dnf")).to_be_disabled()
            spectator.locator("[data-tab=board]").click()
            expect(spectator.locator(f"#board-body tr[data-id='{off_id}'] .st-dnf")).to_be_visible(
                timeout=40_000
            )
            # Its off-course alert closes: a withdrawn athlete is no longer on the course.
            expect(page.locator(f"#list-off_course li[data-athlete='{off_id}']")).to_have_count(
                0, timeout=40_000
            )
        finally:
            context.close()
            sim.terminate()
            output = sim.communicate(timeout=20)[0]
        assert "goes off course" in output
        assert errors == []
