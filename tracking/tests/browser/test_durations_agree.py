"""The live page, the embed and the replay write a duration by one rule (common.js), so
the same gap or time reads the same in an organizer's widget as on the live page.

The socket is played by the test (Playwright's WebSocket routing): both pages get the
same snapshot, whose times fall between whole seconds."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.utils import timezone

from events.models import Race
from tracking.sim.testrace import load_test_race_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _snapshot(race: Race, ids: list[int]) -> str:
    start = race.start_time.timestamp()
    leader, second = ids
    # 61.4 s behind: +1:02 by the results' rule (a time between seconds rounds up);
    # rounding to the nearest second (the embed's old rule) wrote +1:01.
    states: list[dict[str, Any]] = [
        {"id": leader, "rank": 1, "status": "racing", "distance": 5200.0, "lat": 45.0,
         "lon": 6.0, "gap": 0, "pace": 300, "eta": start + 3000.2},
        {"id": second, "rank": 2, "status": "racing", "distance": 5000.0, "lat": 45.0,
         "lon": 6.001, "gap": 61.4, "pace": 310, "eta": start + 3599.2},
    ]  # fmt: skip
    field = [[s["id"], s["lat"], s["lon"], s["distance"], s["status"], s["rank"], s["pace"],
              s["gap"], s["eta"] - start, 0] for s in states]  # fmt: skip
    return json.dumps(
        {"type": "snapshot", "seq": 7, "t": timezone.now().timestamp(), "athletes": states,
         "field": field, "posts": [], "race": {"id": race.pk, "start": start}}
    )  # fmt: skip


def _serve(page: Any, snapshot: str) -> None:
    def handler(ws: Any) -> None:
        ws.send(snapshot)
        ws.on_message(lambda message: ws.send(snapshot))  # a follow is answered with one

    page.route_web_socket("**/ws/live/**", handler)


def test_the_embed_and_the_live_page_write_a_gap_the_same_way(page: Any, live_server: Any) -> None:
    data = load_test_race_create(athletes=2)
    race = Race.objects.select_related("event").get(pk=data["race_id"])
    ids = [a["id"] for a in data["athletes"]]
    snapshot = _snapshot(race, ids)
    _serve(page, snapshot)
    page.set_default_timeout(30_000)  # a loaded machine's first page
    path = f"{race.event.slug}/{race.slug}/"

    page.goto(f"{live_server.url}/embed/{path}")
    embed_row = page.locator(f"#embed-rows tr[data-id='{ids[1]}']")
    embed_row.wait_for()
    embed_gap = embed_row.locator("td").nth(3).inner_text()

    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{live_server.url}/live/{path}")
    live_row = page.locator(f"tr[data-id='{ids[1]}']").first
    live_row.wait_for()
    assert "+1:02" in live_row.inner_text()
    assert errors == []
    assert embed_gap == "+1:02"
    # The one rule, at its edges, on every page that loads it.
    cases = {"59.0004": "0:59", "3599.2": "1:00:00", "3600": "1:00:00", "-5": "0:00"}
    for value, shown in cases.items():
        assert page.evaluate(f"PaceCommon.duration({value})") == shown
    assert page.evaluate("PaceCommon.duration(61.4, true)") == "0:01:02"
