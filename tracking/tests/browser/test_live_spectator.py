"""The spectator's live page as a user meets it: real daphne, ticker and simulated athletes
(one sent off course), Chromium at phone and desktop sizes, and axe-core's audit.

Every athlete of the board has pace, gap and ETA; filters, search, status counts, the
race clock; following pins athletes and survives a reload; ``?athlete=BIB`` opens on
that athlete; the keyboard reaches a row and opens its panel; no serious or critical
accessibility violation.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from pace.lib.testing import assert_markers_out_of_tab_order
from tracking.tests.serving import ROOT, Server, daphne_server, manage, migrated_db, sqlite_env

pytestmark = pytest.mark.browser
SHOTS = Path(os.environ.get("PACE_LIVE_SCREENSHOT_DIR", "/tmp"))
AXE = ROOT / "static" / "vendor" / "axe-core" / "axe.min.js"
ATHLETES = 30
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
# Rows below the top 10 whose pace, gap and ETA all show (not a dash).
DEEP_ROWS_FILLED = """() => [...document.querySelectorAll('#board-body tr[data-id]')].slice(10)
  .filter(tr => /^\\d+:\\d\\d$/.test(tr.querySelector('.pace').textContent)
    && /^\\+/.test(tr.querySelector('.gap').textContent)
    && /^\\d\\d:\\d\\d$/.test(tr.querySelector('.eta').textContent)).length"""
ALL_ROWS = f"document.querySelectorAll('#board-body tr[data-id]').length >= {ATHLETES}"
ADD_SPLIT = """
from events.models import Race, SplitPoint
race = Race.objects.get(pk={race})
SplitPoint.objects.create(course=race.course, name="1 km", distance_m=1000)
"""
# Notifications as the page makes them, recorded, then shown as the browser would.
NOTIFICATIONS = """(() => {
  window.__notes = [];
  const Real = window.Notification;
  function Spy(title, options) {
    window.__notes.push([title, options && options.body]);
    try { return new Real(title, options); } catch (e) { return {}; }
  }
  Spy.requestPermission = () => Real.requestPermission();
  Object.defineProperty(Spy, "permission", {get: () => Real.permission});
  window.Notification = Spy;
})();"""
AXE_RUN = """async () => {
  const tags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'];
  const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
  return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
}"""


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, Any]]]:
    tmp = tmp_path_factory.mktemp("live")
    env = sqlite_env(migrated_db(tmp / "db.sqlite3"))
    # A split 1 km in, added before the server's ticker reads the course: the athletes
    # pass it within a minute (the course's own first is at 5 km).
    race = json.loads(manage(env, "create_test_race", "--athletes", str(ATHLETES), "--json"))
    manage(env, "shell", "-c", ADD_SPLIT.format(race=race["race_id"]))
    with daphne_server(tmp, env=env) as server:
        sim = server.simulate(
            race["race_id"], "--athletes", str(ATHLETES), "--speed", "30", "--duration", "600",
            "--osmand-share", "0", "--seed", "11", "--off-course", "1",
        )  # fmt: skip
        try:
            yield server, race
        finally:
            sim.terminate()
            sim.communicate(timeout=20)


def _open(browser: Any, server: Server, race: dict[str, Any], query: str = "", **kw: Any) -> Any:
    context = browser.new_context(viewport=kw.pop("viewport", DESKTOP), **kw)
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.js_errors = []
    page.on("pageerror", lambda exc: page.js_errors.append(str(exc)))
    base = server.url.replace("127.0.0.1", "localhost")  # see pace.browser_testing
    page.goto(f"{base}/live/{race['event_slug']}/{race['race_slug']}/{query}")
    page.wait_for_selector("#live-status[data-state=live]")
    return page


def _axe(page: Any) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    violations: list[dict[str, Any]] = page.evaluate(AXE_RUN)
    return violations


def _settle(page: Any) -> None:
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def test_a_followed_athlete_passing_a_split_is_notified_and_announced(browser, live) -> None:
    server, race = live
    context = browser.new_context(viewport=DESKTOP, permissions=["notifications"])
    context.set_default_timeout(120_000)
    context.add_init_script(NOTIFICATIONS)
    page = context.new_page()
    base = server.url.replace("127.0.0.1", "localhost")
    page.goto(f"{base}/live/{race['event_slug']}/{race['race_slug']}/")
    page.wait_for_selector("#live-status[data-state=live]")
    page.wait_for_function(ALL_ROWS)
    # Whoever is last now: they pass the 1 km split after the page is open.
    row = page.locator("#board-body tr[data-id]").last
    name = row.locator(".nm").inner_text()
    row.click()
    page.click("#ap-follow")
    page.keyboard.press("Escape")
    page.wait_for_function("() => window.__notes.some(([, body]) => /^passed 1 km in /.test(body))")
    notes = page.evaluate("window.__notes")
    assert all(title.endswith(name) for title, _ in notes), notes
    expect(page.locator("#announcer")).to_contain_text(f"{name} passed 1 km in")
    context.close()


def test_every_athlete_has_pace_gap_and_eta_and_the_board_filters(browser, live) -> None:
    server, race = live
    page = _open(browser, server, race)
    board = page.locator("#board-body tr[data-id]")
    page.wait_for_function(ALL_ROWS)
    # Athletes below the top 10 show pace, gap and ETA too (from the field's entries).
    page.wait_for_function(f"({DEEP_ROWS_FILLED})() >= 10")
    # The board moves, the race clock ticks.
    before = page.locator("#board-body").inner_text()
    clock = page.locator("#live-clock").inner_text()
    page.wait_for_function("b => document.querySelector('#board-body').innerText !== b", arg=before)
    page.wait_for_function("c => document.querySelector('#live-clock').textContent != c", arg=clock)
    assert re.fullmatch(r"\d+:\d\d(:\d\d)?", page.locator("#live-clock").inner_text())
    # The athlete the simulator sent 800 m off the course shows so, on the board and the map.
    off = page.locator("#board-body tr[data-id] .st-off_course")
    expect(off.first).to_have_text("Off course")
    expect(page.locator("#board-counts .schip-off_course .schip-n")).to_have_text("1")
    page.click("#board-counts .schip-off_course")
    expect(board).to_have_count(1)
    off_id = board.first.get_attribute("data-id")
    page.click("#board-counts .schip-all")
    expect(board).to_have_count(ATHLETES)
    # The counts add up to every athlete.
    counts = page.locator("#board-counts .schip:not(.schip-all) .schip-n").all_inner_texts()
    assert sum(int(n) for n in counts) == ATHLETES
    assert page.locator("#board-counts .schip-all .schip-n").inner_text() == str(ATHLETES)

    # The roster the page fetched beside its socket (not in the page: 48 KB at 5,000).
    roster_url = json.loads(page.locator("#live-config").text_content())["roster_url"]
    roster = page.evaluate("(u) => fetch(u).then((r) => r.json())", roster_url)["roster"]
    by_id = {str(r[0]): r for r in roster}
    assert by_id[off_id][0] == race["athletes"][0]["id"]  # the simulator's first athlete
    # Search by bib: one row; by part of a name: every match.
    bib = roster[17][1]
    page.fill("#board-search", bib)
    expect(board).to_have_count(1)
    expect(board.first).to_have_attribute("data-id", str(roster[17][0]))
    page.fill("#board-search", "")
    expect(board).to_have_count(ATHLETES)
    # Filter by sex: exactly the women of the roster.
    women = {str(r[0]) for r in roster if r[4] == "F"}
    page.select_option("#board-sex", "F")
    expect(board).to_have_count(len(women))
    assert {tr.get_attribute("data-id") for tr in board.all()} == women
    page.select_option("#board-sex", "")
    categories = [r[3] for r in roster if r[3]]
    if categories:
        page.select_option("#board-category", categories[0])
        expect(board).to_have_count(categories.count(categories[0]))
        page.select_option("#board-category", "")
    page.screenshot(path=str(SHOTS / "pace-live-desktop.png"))
    assert page.js_errors == []
    page.context.close()


def test_following_pins_an_athlete_and_survives_a_reload(browser, live) -> None:
    server, race = live
    page = _open(browser, server, race)
    page.wait_for_function(ALL_ROWS)
    row = page.locator("#board-body tr[data-id]").nth(20)
    athlete = row.get_attribute("data-id")
    row.click()
    panel = page.locator("#athlete-panel")
    expect(panel).to_be_visible()
    page.click("#ap-follow")
    expect(page.locator("#ap-follow")).to_have_attribute("aria-pressed", "true")
    pinned = page.locator(f"#board-pinned tr[data-id='{athlete}']")
    expect(pinned).to_have_class(re.compile(r"\bfollowed\b"))
    expect(page.locator(f"#board-body tr[data-id='{athlete}']")).to_have_count(0)
    expect(page.locator("#live-follow")).to_be_visible()
    # Splits and charts from the athlete's JSON; kudos reach the server's count.
    expect(page.locator("#ap-chart-ele .uplot, #ap-chart-ele p")).to_have_count(1)
    page.click("#ap-kudos")
    expect(page.locator("#ap-kudos .kc")).to_have_text(re.compile(r"^\d+$"))
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    page.reload()
    page.wait_for_selector("#live-status[data-state=live]")
    expect(page.locator(f"#board-pinned tr[data-id='{athlete}']")).to_have_count(1)
    # The socket follows it too: its full state comes every tick (what only a state
    # object has: the next split's ETA, or the heart rate of a phone that sends it).
    page.locator(f"#board-pinned tr[data-id='{athlete}']").click()
    page.wait_for_function(
        "() => /Next: /.test(document.querySelector('#ap-facts').textContent)"
        " || / bpm/.test(document.querySelector('#follow-list').textContent)"
    )
    assert page.js_errors == []
    page.context.close()


def test_a_share_link_opens_the_page_on_the_athlete(browser, live) -> None:
    server, race = live
    athlete = race["athletes"][5]
    page = _open(browser, server, race, query=f"?athlete={athlete['bib']}", viewport=PHONE)
    panel = page.locator("#athlete-panel")
    expect(panel).to_be_visible()
    expect(page.locator("#ap-sub")).to_contain_text(f"#{athlete['bib']}")
    expect(page.locator("#ap-follow")).to_have_attribute("aria-pressed", "true")
    expect(page.locator(f"#board-pinned tr[data-id='{athlete['id']}']")).to_have_count(1)
    expect(page.locator("#ap-facts")).to_contain_text("Projected finish")
    page.wait_for_selector("#ap-chart-pace .uplot, #ap-chart-pace p")
    _settle(page)
    page.screenshot(path=str(SHOTS / "pace-live-phone-athlete.png"))
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.evaluate("() => { delete navigator.share; }")
    page.click("#ap-share")
    expect(page.locator("#toast")).to_contain_text(f"?athlete={athlete['bib']}")
    assert page.js_errors == []
    page.context.close()


def test_the_keyboard_reaches_a_row_and_opens_its_panel(browser, live) -> None:
    server, race = live
    page = _open(browser, server, race)
    page.wait_for_function(ALL_ROWS)
    page.wait_for_selector("path.athlete-marker")
    # From the top, Tabs past the tabs, the map, the filters and the status counts reach
    # the board: the map's markers (hundreds in a big race) are not in the way.
    assert_markers_out_of_tab_order(page, 25, "#board tr[data-id]")
    first = page.evaluate("document.activeElement.dataset.id")
    page.keyboard.press("ArrowDown")
    athlete = page.evaluate("document.activeElement.dataset.id")
    assert athlete and athlete != first  # the next row (the rows move as athletes pass)
    page.keyboard.press("Enter")
    expect(page.locator("#athlete-panel")).to_be_visible()
    name = page.locator(f"#board tr[data-id='{athlete}'] .nm").inner_text()
    expect(page.locator("#ap-name")).to_have_text(name)
    assert page.evaluate("document.activeElement.id") == "ap-name"
    page.keyboard.press("Escape")
    expect(page.locator("#athlete-panel")).to_be_hidden()
    assert page.evaluate("document.activeElement.dataset.id") == athlete
    assert page.js_errors == []
    page.context.close()


def test_on_a_phone_board_and_map_are_one_tap_away_with_pace_and_eta(browser, live) -> None:
    server, race = live
    page = _open(browser, server, race, viewport=PHONE)
    page.wait_for_function(f"({DEEP_ROWS_FILLED})() >= 5")
    for column in ("Pace", "Gap", "ETA"):
        expect(page.locator("#board thead th", has_text=column)).to_be_visible()
    expect(page.locator("#board-body tr[data-id] .pace").nth(12)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    _settle(page)
    page.screenshot(path=str(SHOTS / "pace-live-phone-board.png"))
    page.click("#tab-map")
    expect(page.locator("#live-map")).to_be_visible()
    expect(page.locator("#board")).to_be_hidden()
    page.wait_for_function("document.querySelectorAll('.athlete-marker').length >= 10")
    # Followed athletes show in a card over the map: beside its zoom buttons, not over them.
    followed = [a["id"] for a in race["athletes"][:3]]
    page.evaluate(
        "([key, ids]) => localStorage.setItem(key, JSON.stringify(ids))",
        [f"pace-follow-{race['race_id']}", followed],
    )
    page.reload()
    page.click("#tab-map")
    expect(page.locator("#live-follow")).to_be_visible()
    for button in (".leaflet-control-zoom-in", ".leaflet-control-zoom-out"):
        page.wait_for_selector(button)
        assert page.evaluate(
            """sel => { const b = document.querySelector(sel).getBoundingClientRect();
            return document.elementFromPoint(b.x + b.width / 2, b.y + b.height / 2)
              .closest(sel) !== null; }""",
            button,
        ), f"{button} is covered"
    _settle(page)
    page.screenshot(path=str(SHOTS / "pace-live-phone-map.png"))
    page.click("#tab-board")
    expect(page.locator("#board")).to_be_visible()
    assert page.js_errors == []
    page.context.close()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_axe_finds_no_serious_violation(browser, live, viewport) -> None:
    server, race = live
    page = _open(browser, server, race, viewport=viewport)
    page.wait_for_function(f"({DEEP_ROWS_FILLED})() >= 5")
    assert _axe(page) == []
    page.locator("#board-body tr[data-id]").nth(3).click()
    page.wait_for_selector("#ap-chart-ele .uplot, #ap-chart-ele p")
    assert _axe(page) == []
    assert page.js_errors == []
    page.context.close()


def test_a_silent_socket_shows_stale_then_reconnects_and_resyncs(browser, live) -> None:
    server, race = live
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(60_000)
    sockets: list[Any] = []
    muted = {"on": False}

    def relay(ws: Any) -> None:
        # Between the page and the server: the first socket goes silent when muted (a
        # network that stops delivering without closing), later ones pass everything.
        upstream = ws.connect_to_server()
        first = not sockets
        sockets.append(ws)
        upstream.on_message(lambda m: None if (muted["on"] and first) else ws.send(m))
        ws.on_message(upstream.send)

    context.route_web_socket(re.compile(r".*/ws/live/.*"), relay)
    page = context.new_page()
    page.clock.install()  # the page's own time runs, and the test moves it past its limits
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    base = server.url.replace("127.0.0.1", "localhost")
    page.goto(f"{base}/live/{race['event_slug']}/{race['race_slug']}/")
    page.wait_for_selector("#live-status[data-state=live]")
    page.wait_for_function(ALL_ROWS)
    muted["on"] = True
    page.clock.fast_forward(6_000)  # more than 5 s without a frame: stale
    expect(page.locator("#live-status")).to_have_attribute("data-state", "stale")
    expect(page.locator("#live-status")).to_contain_text("Stale")
    assert len(sockets) == 1
    # Silent too long (25 s): the page drops that socket, reconnects after its backoff (a
    # second or so, in the page's time running on) and takes a fresh snapshot.
    page.clock.fast_forward(20_000)
    page.wait_for_function("() => document.querySelector('#live-status').dataset.state === 'live'")
    assert len(sockets) == 2
    before = page.locator("#board-body").inner_text()
    page.wait_for_function("b => document.querySelector('#board-body').innerText !== b", arg=before)
    assert errors == []
    context.close()
