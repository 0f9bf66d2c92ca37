"""The live page's athlete panel draws pace on an axis scaled to the athlete's paces, and its
board never shows a stale rank when frames of different seqs meet (a leader passed drops
out of the focus: the ticks no longer bring its state, only the next field frame does).

The first two drive the page with frames of their own (the socket routed, the panel's data
routed): the exact situations, every time. The last watches a simulated race through a real
daphne and ticker at desktop and phone sizes and keeps their screenshots.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from tracking.sim.testrace import load_test_race_create
from tracking.tests.serving import daphne_server, migrated_db, sqlite_env

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
DASH = "\u2013"  # a cell with nothing known
VIEWPORTS = [pytest.param(DESKTOP, id="desktop"), pytest.param(PHONE, id="phone")]

# The pace chart as drawn: its scale, its direction, its ticks' labels and where they sit
# on the canvas (device pixels from its top), from the panel's uPlot instances.
PACE_CHART = """() => {
  const u = PaceLive.panelCharts()[0];
  const y = u.scales.y, axis = u.axes[1];
  const dpr = window.devicePixelRatio || 1;
  return {
    min: y.min, max: y.max,
    fastAbove: u.valToPos(250, 'y') < u.valToPos(280, 'y'),
    labels: axis._values, splits: axis._splits,
    tops: axis._splits.map(v => u.valToPos(v, 'y', true) / dpr),
    fontPx: parseFloat(axis.font[0].match(/(\\d+(?:\\.\\d+)?)px/)[1]) / dpr,
    height: u.bbox.height / dpr,
  };
}"""
BOARD = """() => [...document.querySelectorAll('#board-body tr[data-id]')]
  .map(tr => [Number(tr.dataset.id), tr.querySelector('.rank').textContent])"""
PINNED = """() => [...document.querySelectorAll('#board-pinned tr[data-id]')]
  .map(tr => [Number(tr.dataset.id), tr.querySelector('.rank').textContent])"""


def _live_race(athletes: int) -> dict[str, Any]:
    from events.models import Race

    data = load_test_race_create(athletes=athletes)
    race = Race.objects.get(pk=data["race_id"])
    race.start_time = timezone.now() - dt.timedelta(minutes=20)
    race.save()
    data["start"] = race.start_time.timestamp()
    return data


def _settle(page: Any) -> None:
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def _panel_data(athlete: dict[str, Any]) -> dict[str, Any]:
    # As the panel's data has them: standing at the start line after the gun (no pace),
    # then an average since that first fix, falling from an hour a kilometre to the race's
    # pace over the first 200 m; then 4:14 to 4:31 a kilometre, with a stop at a drinks
    # table half way (slow paces, then none while standing).
    standing = [(0, None)] * 10
    start = [(8 * k, round(3500 * 0.93**k) + 250) for k in range(1, 26)]
    steady = [254 + (i * 7) % 18 for i in range(120)]
    paces = [*steady[:60], 2600, 3300, None, None, 1500, *steady[60:]]
    rest = [(200 + round(9800 * (i + 1) / len(paces)), p) for i, p in enumerate(paces)]
    track = [*standing, *start, *rest]
    points = [
        [i * 10, d, p, 150 + i % 10, 450 + i % 7] for i, (d, p) in enumerate(track)
    ]  # fmt: skip
    return {
        "athlete": {"id": athlete["id"], "bib": athlete["bib"], "name": "Runner"},
        "start": 0, "distance": 10_000, "points": points, "profile": [],
        "splits": [], "posts": [],
    }  # fmt: skip


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_pace_chart_is_scaled_to_the_athletes_paces(
    page: Any, live_server: Any, viewport: dict[str, int], tmp_path: Path
) -> None:
    race = _live_race(athletes=3)
    athlete = race["athletes"][0]
    snapshot = json.dumps(
        {"type": "snapshot", "seq": 3, "t": time.time(), "athletes": [], "field": [],
         "posts": [], "race": {"id": race["race_id"], "start": race["start"]}}
    )  # fmt: skip
    page.route_web_socket("**/ws/live/**", lambda ws: ws.send(snapshot))
    body = json.dumps(_panel_data(athlete))
    page.route(
        re.compile(r".*/athlete/\d+\.json.*"),
        lambda route: route.fulfill(status=200, content_type="application/json", body=body),
    )
    page.set_viewport_size(viewport)
    url = f"{live_server.url}/live/{race['event_slug']}/{race['race_slug']}/"
    page.goto(f"{url}?athlete={athlete['bib']}")
    page.wait_for_selector("#ap-chart-pace .uplot")
    _settle(page)
    chart = page.evaluate(PACE_CHART)
    # Scaled to the race run (4:14 to 4:31), padded, not to the first seconds or the stop.
    assert 200 <= chart["min"] < 254 and 271 < chart["max"] <= 330, chart
    assert chart["fastAbove"], chart  # faster higher up
    labels = chart["labels"]
    assert len(labels) >= 2 and all(re.fullmatch(r"\d+:\d\d", v) for v in labels), chart
    assert {"4:20"} <= set(labels) and "16:40" not in labels, chart
    # Every label whole inside the canvas: half a line of text above and below its tick.
    for top in chart["tops"]:
        assert chart["fontPx"] / 2 <= top <= chart["height"] + 40, chart
    name = "desktop" if viewport == DESKTOP else "phone"
    page.locator("#athlete-panel").screenshot(path=str(tmp_path / f"pace-chart-{name}.png"))
    assert page.js_errors == []


def _entry(a: dict[str, Any], rank: int, at_m: float) -> list[Any]:
    # [id, lat, lon, distance, status, rank, pace, gap, finish, flags]
    return [a["id"], 45.9 - at_m / 1e6, 6.13, at_m, "racing", rank, 260, rank * 6, 2600, 0]


def _state(a: dict[str, Any], rank: int, at_m: float) -> dict[str, Any]:
    return {"id": a["id"], "lat": 45.9 - at_m / 1e6, "lon": 6.13, "distance": at_m,
            "status": "racing", "rank": rank, "pace": 260, "gap": rank * 6}  # fmt: skip


def _ranks_unique(rows: list[list[Any]]) -> None:
    shown = [r for _, r in rows if r != DASH]
    assert len(shown) == len(set(shown)), rows
    assert [int(r) for r in shown] == sorted(int(r) for r in shown), rows


@pytest.mark.django_db(transaction=True)
def test_the_board_never_shows_a_stale_rank(page: Any, live_server: Any) -> None:
    race = _live_race(athletes=14)
    people = race["athletes"]
    followed = people[13]
    sockets: list[Any] = []
    page.route_web_socket("**/ws/live/**", lambda ws: sockets.append(ws))
    page.add_init_script(
        f"localStorage.setItem('pace-follow-{race['race_id']}', '[{followed['id']}]')"
    )
    page.goto(f"{live_server.url}/live/{race['event_slug']}/{race['race_slug']}/")
    page.wait_for_function("document.readyState === 'complete'")
    deadline = time.time() + 20
    while not sockets and time.time() < deadline:
        page.wait_for_timeout(50)
    ws = sockets[0]
    dist = {p["id"]: 2000 - 10 * i for i, p in enumerate(people)}  # ranks 1..14 in order
    rank = {p["id"]: i + 1 for i, p in enumerate(people)}
    by_id = {p["id"]: p for p in people}
    focus = [p for p in people if rank[p["id"]] <= 10] + [followed]

    def frame(kind: str, seq: int, **extra: Any) -> None:
        ws.send(json.dumps({"type": kind, "seq": seq, "t": time.time(), **extra}))

    frame(
        "snapshot", 5, posts=[],
        race={"id": race["race_id"], "start": race["start"], "field_interval": 2},
        field=[_entry(p, rank[p["id"]], dist[p["id"]]) for p in people],
        athletes=[_state(p, rank[p["id"]], dist[p["id"]]) for p in focus],
    )  # fmt: skip
    page.wait_for_function("document.querySelectorAll('#board-body tr[data-id]').length === 13")
    _ranks_unique(page.evaluate(BOARD))

    # Tick 6: the 11th (Clara) passes the 10th (Sofia). Clara enters the leaders and her
    # state comes; Sofia leaves them: nothing of hers comes until the next field frame.
    sofia, clara = people[9], people[10]
    dist[clara["id"]], rank[clara["id"]], rank[sofia["id"]] = dist[sofia["id"]] + 5, 10, 11
    dist[followed["id"]] += 3
    frame("tick", 6, athletes=[_state(clara, 10, dist[clara["id"]]),
                               _state(followed, 14, dist[followed["id"]])])  # fmt: skip
    page.wait_for_function(
        f"document.querySelector('#board-body tr[data-id=\"{clara['id']}\"] .rank')"
        ".textContent === '10'"
    )
    rows = page.evaluate(BOARD)
    _ranks_unique(rows)
    ids = [i for i, _ in rows]
    assert dict(rows)[sofia["id"]] == DASH, rows  # her rank is not known this tick
    assert ids.index(sofia["id"]) == ids.index(clara["id"]) + 1, rows
    assert page.evaluate(PINNED) == [[followed["id"], "14"]]

    # Tick 7: the 3rd stops sending and is out (unranked): the 4th to 10th move up a place
    # (their states come), the 3rd's own entry only with the field frame.
    gone = people[2]
    moved = [p for p in people[3:11] if p["id"] != sofia["id"]]
    for p in moved:
        rank[p["id"]] -= 1
    frame("tick", 7, athletes=[_state(p, rank[p["id"]], dist[p["id"]]) for p in moved])
    page.wait_for_function(
        f"document.querySelector('#board-body tr[data-id=\"{clara['id']}\"] .rank')"
        ".textContent === '9'"
    )
    rows = page.evaluate(BOARD)
    _ranks_unique(rows)
    assert dict(rows)[gone["id"]] == DASH, rows
    # Rank 10 is nobody's this tick (Clara moved on): Sofia's old 10 is no truer for it.
    assert dict(rows)[sofia["id"]] == DASH, rows

    # The field frame: every athlete's figures at one seq, the board whole again.
    for p in [sofia, *people[11:]]:  # Sofia and everyone behind her a place up
        rank[p["id"]] -= 1
    field = [_entry(p, rank[p["id"]], dist[p["id"]]) for p in people if p != gone]
    field.append([gone["id"], 45.9, 6.13, dist[gone["id"]], "dnf", None, None, None, None, 0])
    frame("tick", 8, athletes=[_state(followed, 13, dist[followed["id"]])])
    frame("field", 8, field=field)
    page.wait_for_function(
        f"document.querySelector('#board-body tr[data-id=\"{people[11]['id']}\"] .rank')"
        ".textContent === '11'"
    )
    rows = page.evaluate(BOARD)
    _ranks_unique(rows)
    assert [r for _, r in rows if r != DASH] == [str(n) for n in range(1, 13)], rows
    assert by_id[rows[-1][0]] == gone, rows  # out, at the bottom
    assert page.evaluate(PINNED) == [[followed["id"], "13"]]
    assert page.js_errors == []


@pytest.mark.parametrize("viewport", [VIEWPORTS[0]])  # the phone's chart: the test above
def test_a_simulated_race_shows_a_readable_pace_chart_and_unique_ranks(
    browser: Any, tmp_path: Path, viewport: dict[str, int]
) -> None:
    env = sqlite_env(migrated_db(tmp_path / "db.sqlite3"))
    name = "desktop" if viewport == DESKTOP else "phone"
    with daphne_server(tmp_path, env=env) as server:
        race = server.test_race(athletes=30)
        sim = server.simulate(
            race["race_id"], "--athletes", "30", "--speed", "1", "--duration", "300",
            "--osmand-share", "0", "--seed", "7",
        )  # fmt: skip
        context = browser.new_context(viewport=viewport)
        context.set_default_timeout(30_000)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        # Every board the page draws, checked as it is drawn: no rank shown twice.
        page.add_init_script("""(() => {
          window.__dupes = [];
          new MutationObserver(() => {
            const r = [...document.querySelectorAll('#board tr[data-id] .rank')]
              .map(td => td.textContent).filter(t => t !== '\\u2013');
            if (new Set(r).size !== r.length) { window.__dupes.push(r.join(',')); }
          }).observe(document, {subtree: true, childList: true,
                                                characterData: true});
        })();""")
        try:
            base = server.url.replace("127.0.0.1", "localhost")
            page.goto(f"{base}/live/{race['event_slug']}/{race['race_slug']}/")
            page.wait_for_selector("#live-status[data-state=live]")
            page.wait_for_function(
                "[...document.querySelectorAll('#board-body td.rank')]"
                ".filter(td => /^\\d+$/.test(td.textContent)).length >= 20",
                timeout=90_000,
            )
            # Follow one from the middle of the field, as the user did, and watch ticks.
            row = page.locator("#board-body tr[data-id]").nth(2)
            row.click()
            page.click("#ap-follow")
            page.wait_for_selector("#ap-chart-pace .uplot", timeout=60_000)
            # As the demo runs (real time): ticks with athletes passing each other, the
            # first seconds' slow paces in the panel's data, as the user saw them.
            page.wait_for_timeout(25_000)
            page.click("#ap-close")
            page.locator("#board-pinned tr[data-id]").first.click()
            page.wait_for_selector("#ap-chart-pace .uplot")
            _settle(page)
            chart = page.evaluate(PACE_CHART)
            assert chart["fastAbove"], chart
            assert all(re.fullmatch(r"\d+:\d\d", v) for v in chart["labels"]), chart
            assert chart["max"] - chart["min"] < 600, chart  # not stretched by outliers
            for top in chart["tops"]:
                assert chart["fontPx"] / 2 <= top, chart
            assert page.evaluate("window.__dupes") == []
            page.screenshot(path=str(tmp_path / f"live-panel-{name}.png"))
            page.locator("#athlete-panel").screenshot(path=str(tmp_path / f"panel-{name}.png"))
            page.click("#ap-close")
            _settle(page)
            page.screenshot(path=str(tmp_path / f"live-board-{name}.png"), full_page=True)
        finally:
            context.close()
            sim.terminate()
            sim.communicate(timeout=20)
        assert errors == []
