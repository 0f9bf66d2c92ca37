"""Replay, embed and family links in Chromium.

The replay is served by Django's live server (it needs no socket); the embed and the
family link need the live socket, so real daphne, a ticker and simulated athletes.
"""

from __future__ import annotations

import datetime as dt
import http.server
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from events.models import Event, Race
from pace.lib.testing import MARKERS_IN_TAB_ORDER
from tracking.sim.pastrace import past_race_positions_create
from tracking.sim.testrace import load_test_race_create
from tracking.tests.serving import daphne_server, migrated_db, sqlite_env

pytestmark = pytest.mark.browser
SHOTS = Path(os.environ.get("PACE_REPLAY_SCREENSHOTS", "/tmp"))
MARKERS = (
    "() => [...document.querySelectorAll('.athlete-marker')].map(m => m.getAttribute('d')).join()"
)
LEADER = "() => document.querySelector('#replay-body tr[data-id]')?.textContent"


def shoot(page: Any, name: str) -> None:
    """The page at desktop and phone sizes (viewed by whoever changes it)."""
    page.set_viewport_size({"width": 1280, "height": 800})
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    page.screenshot(path=str(SHOTS / f"pace-{name}.png"))
    page.set_viewport_size({"width": 390, "height": 844})
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    page.screenshot(path=str(SHOTS / f"pace-{name}.mobile.png"), full_page=True)


@pytest.mark.django_db(transaction=True)
def test_it_replays_a_race_with_the_slider_and_the_board_follows(
    page: Any, live_server: Any
) -> None:
    data = load_test_race_create(athletes=12)
    race = Race.objects.select_related("event", "course").get(pk=data["race_id"])
    race.start_time = timezone.now() - dt.timedelta(hours=30)
    race.time_limit = dt.timedelta(hours=2)
    race.save()
    past_race_positions_create(race=race, every=10, seed=3)
    page.goto(f"{live_server.url}/live/{race.event.slug}/{race.slug}/replay/")
    page.wait_for_selector("#replay[data-state=ready]")
    expect(page.locator(".course-line")).to_have_count(1)
    slider = page.locator("#replay-time")
    # A few minutes in: everyone has started, the field is spread along the course.
    slider.fill("600")
    page.wait_for_function("document.querySelectorAll('.athlete-marker').length === 12")
    assert page.evaluate(MARKERS_IN_TAB_ORDER) == 0
    page.wait_for_function("document.querySelectorAll('#replay-body tr[data-id]').length === 12")
    early_markers, early_leader = page.evaluate(MARKERS), page.evaluate(LEADER)
    km_early = float(page.locator("#replay-body tr[data-id] td").nth(2).inner_text())
    slider.fill("1500")
    page.wait_for_function(f"before => ({MARKERS})() !== before", arg=early_markers)
    km_later = float(page.locator("#replay-body tr[data-id] td").nth(2).inner_text())
    assert km_later > km_early + 2  # the board follows the replayed time
    assert page.evaluate(LEADER) != early_leader
    expect(page.locator("#replay-elapsed")).to_have_text("0:25:00")
    # Played at 60x the replayed time runs on by itself, the board with it.
    page.select_option("#replay-speed", "60")
    page.click("#replay-play")
    expect(page.locator("#replay-play")).to_have_attribute("aria-pressed", "true")
    page.wait_for_function("Number(document.getElementById('replay').dataset.t) >= 1560")
    page.click("#replay-play")
    expect(page.locator("#replay-play")).to_have_attribute("aria-pressed", "false")
    # The board is a table a keyboard works: a row takes focus, Enter selects it.
    third = page.locator("#replay-body tr[data-id]").nth(2)
    third.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#replay-body tr[aria-current=true]")).to_have_count(1)
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.tagName") == "TR"
    # To the end: finishers first, with their finish times.
    slider.fill(slider.get_attribute("max") or "0")
    page.wait_for_function("document.querySelectorAll('#replay-body td.fin').length === 12")
    shoot(page, "replay")
    assert page.js_errors == []


class OtherSite(http.server.BaseHTTPRequestHandler):
    """A page of someone else's site (another origin) framing Pace's widget and live page."""

    html = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(self.html)

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def other_site(html: str) -> Iterator[str]:
    handler = type("Site", (OtherSite,), {"html": html.encode()})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        # Another port: another origin than Pace's (Chromium here resolves only localhost).
        yield f"http://localhost:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_it_embeds_the_race_in_a_page_of_another_site(browser: Any, tmp_path: Path) -> None:
    with daphne_server(tmp_path, env=sqlite_env(migrated_db(tmp_path / "db.sqlite3"))) as server:
        race = server.test_race(athletes=12)
        sim = server.simulate(
            race["race_id"], "--athletes", "12", "--speed", "40", "--duration", "120",
            "--seed", "5",
        )  # fmt: skip
        path = f"{race['event_slug']}/{race['race_slug']}/"
        base = server.url.replace("127.0.0.1", "localhost")
        html = (
            f'<h1>Our race</h1><iframe id="widget" src="{base}/embed/{path}" '
            'width="640" height="420"></iframe>'
            f'<iframe id="framed-live" src="{base}/live/{path}" width="300" height="200">'
            "</iframe>"
        )
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.set_default_timeout(20_000)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        try:
            with other_site(html) as url:
                page.goto(url)
                widget = page.frame_locator("#widget")
                expect(widget.locator("#embed-status")).to_have_attribute("data-state", "live")
                # Frames arrive: the leaders on the board, the field on the map.
                frame = page.frame(url=f"{base}/embed/{path}")
                assert frame is not None
                frame.wait_for_function(
                    "document.querySelectorAll('#embed-rows tr[data-id]').length === 5"
                    " && document.querySelectorAll('.athlete-marker').length === 12",
                    timeout=45_000,
                )
                drawn = frame.evaluate(MARKERS)
                frame.wait_for_function(f"before => ({MARKERS})() !== before", arg=drawn)
                opener = widget.locator("a.embed-open")
                assert (opener.get_attribute("href") or "").endswith(f"/live/{path}")
                assert opener.get_attribute("target") == "_blank"
                # The live page itself refuses to be framed (X-Frame-Options: DENY).
                live_frame = page.frame(url=f"{base}/live/{path}")
                assert live_frame is None or live_frame.locator("#live").count() == 0
                page.screenshot(path=str(SHOTS / "pace-embed-other-site.png"))
            # The widget alone at phone size (an organizer's mobile page).
            page.set_viewport_size({"width": 390, "height": 844})
            page.goto(f"{base}/embed/{path}")
            page.wait_for_selector("#embed-rows tr[data-id]")
            page.screenshot(path=str(SHOTS / "pace-embed.mobile.png"))
        finally:
            context.close()
            sim.terminate()
            sim.communicate(timeout=20)
        assert errors == []


FAMILY_LINK = """
from events.models import Event, Registration
from tracking.familylinks import family_link_create
reg = Registration.objects.filter(race_id={race_id}).order_by("pk").first()
Event.objects.filter(races__pk={race_id}).update(status=Event.Status.DRAFT)
link, token = family_link_create(registration=reg, duration="24h")
print(__import__("json").dumps({{"token": token, "bib": reg.bib, "name": reg.name}}))
"""


def test_it_opens_a_private_race_live_from_a_family_link_without_login(
    browser: Any, tmp_path: Path
) -> None:
    with daphne_server(tmp_path, env=sqlite_env(migrated_db(tmp_path / "db.sqlite3"))) as server:
        race = server.test_race(athletes=8)
        made = json.loads(
            server.manage("shell", "-c", FAMILY_LINK.format(race_id=race["race_id"]))
            .strip()
            .splitlines()[-1]
        )
        sim = server.simulate(
            race["race_id"], "--athletes", "8", "--speed", "40", "--duration", "120", "--seed", "2"
        )
        base = server.url.replace("127.0.0.1", "localhost")
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.set_default_timeout(20_000)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        sockets: list[str] = []
        frames: list[str] = []

        def watch(ws: Any) -> None:
            sockets.append(ws.url)
            ws.on("framereceived", lambda payload: frames.append(str(payload)))

        page.on("websocket", watch)
        try:
            live = f"{base}/live/{race['event_slug']}/{race['race_slug']}/"
            assert page.goto(live).status == 404  # a draft: not public
            page.goto(f"{base}/f/{made['token']}/")
            assert page.url.startswith(live) and f"athlete={made['bib']}" in page.url
            page.wait_for_selector("#live-status[data-state=live]")
            # Its socket shows the token and is let in: the race's snapshot arrives. (A
            # draft has no ticker running, so no ticks: private races are drafts today.)
            assert any(f"token={made['token']}" in url for url in sockets)
            page.wait_for_function("() => true")
            assert any('"type":"snapshot"' in f.replace(" ", "") for f in frames)
            expect(page.locator("body")).to_contain_text(made["name"])
            shoot(page, "family-link")
        finally:
            context.close()
            sim.terminate()
            sim.communicate(timeout=20)
        assert errors == []


@pytest.mark.django_db(transaction=True)
def test_it_makes_a_family_link_from_the_entry_page_and_the_family_opens_it(
    page: Any, live_server: Any, browser: Any
) -> None:
    data = load_test_race_create(athletes=2)
    race = Race.objects.select_related("event").get(pk=data["race_id"])
    Event.objects.filter(pk=race.event_id).update(status=Event.Status.DRAFT)
    entry = race.registrations.order_by("pk").first()
    assert entry is not None
    page.goto(f"{live_server.url}/entries/{entry.manage_token}/")
    panel = page.locator(".family-panel")
    expect(panel).to_contain_text("Share with family")
    panel.locator("input[name=label]").fill("Grandma")
    panel.locator("select[name=duration]").select_option("3d")
    shoot(page, "entry-family-panel")
    page.set_viewport_size({"width": 1280, "height": 800})
    panel.locator("button[type=submit]").first.click()
    link = page.locator("#family-url").input_value()
    assert "/f/pf_" in link
    shoot(page, "family-link-created")
    # The family: another browser, no account, no cookie.
    family = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        other = family.new_page()
        response = other.goto(live_server.url + urlsplit(link).path)  # SITE_URL's host here
        assert response is not None and response.status == 200
        assert f"/live/{race.event.slug}/{race.slug}/" in other.url
    finally:
        family.close()
    # Back on the entry page: listed, and revoked with one click.
    page.goto(f"{live_server.url}/entries/{entry.manage_token}/")
    expect(page.locator(".family-links li")).to_have_count(1)
    expect(page.locator(".family-links")).to_contain_text("Grandma")
    page.locator(".family-links button").click()
    expect(page.locator(".family-links li")).to_have_count(0)
    assert page.js_errors == []
