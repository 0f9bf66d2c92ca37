"""What the live page writes: the feed names the athletes of the posts it opens with,
whether the roster (names and bibs, fetched beside the socket) comes before the snapshot
or after it; the board's search finds names as people type them, accents or not; the
athlete panel's charts show their axis labels whole.

The socket is played by the test (Playwright's WebSocket routing)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from events.models import Race, Registration
from tracking.sim.testrace import load_test_race_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_posts_in_the_snapshot_name_their_athletes_before_and_after_the_roster(
    page: Any, live_server: Any
) -> None:
    data = load_test_race_create(athletes=2)
    race = Race.objects.select_related("event").get(pk=data["race_id"])
    athlete = Registration.objects.get(pk=data["athletes"][1]["id"])
    now = timezone.now().timestamp()
    post = {"type": "post", "id": 5, "athlete": athlete.pk, "name": "Ana Post",
            "text": "Hot at the top!", "t": now - 60}  # fmt: skip
    snapshot = json.dumps(
        {"type": "snapshot", "seq": 7, "t": now, "athletes": [], "field": [], "posts": [post],
         "race": {"id": race.pk, "start": race.start_time.timestamp()}}
    )  # fmt: skip
    page.route_web_socket("**/ws/live/**", lambda ws: ws.send(snapshot))
    held: list[Any] = []
    page.route("**/roster.json", lambda route: held.append(route))  # answered below

    page.set_default_timeout(30_000)
    page.goto(f"{live_server.url}/live/{race.event.slug}/{race.slug}/")
    meta = page.locator("#feed li.feed-post .feed-meta strong")
    # Before the roster: the name the post came with, not a placeholder.
    expect(meta).to_have_text("Ana Post")
    for _ in range(100):  # live.js asks for the roster as it starts
        if held:
            break
        page.wait_for_timeout(50)
    assert len(held) == 1
    held[0].continue_()
    # The roster's name and bib, once it comes, on the entry already drawn.
    expect(meta).to_have_text(f"#{athlete.bib} {athlete.first_name} {athlete.last_name}")


def test_the_boards_search_finds_names_without_their_accents(page: Any, live_server: Any) -> None:
    data = load_test_race_create(athletes=3)
    race = Race.objects.select_related("event").get(pk=data["race_id"])
    ids = [a["id"] for a in data["athletes"]]
    Registration.objects.filter(pk=ids[0]).update(first_name="Łucja", last_name="López")
    Registration.objects.filter(pk=ids[1]).update(first_name="Jörg", last_name="Straße")
    snapshot = json.dumps(
        {"type": "snapshot", "seq": 1, "t": timezone.now().timestamp(), "athletes": [],
         "field": [], "posts": [], "race": {"id": race.pk, "start": race.start_time.timestamp()}}
    )  # fmt: skip
    page.route_web_socket("**/ws/live/**", lambda ws: ws.send(snapshot))
    page.set_default_timeout(30_000)
    page.goto(f"{live_server.url}/live/{race.event.slug}/{race.slug}/")
    rows = page.locator("#board-body tr[data-id]")
    expect(rows).to_have_count(3)
    for typed, found in (("lopez", ids[0]), ("LUCJA", ids[0]), ("strasse", ids[1]),
                         ("jorg", ids[1]), ("López", ids[0])):  # fmt: skip
        page.fill("#board-search", typed)
        expect(rows).to_have_count(1)
        expect(rows.first).to_have_attribute("data-id", str(found))
    page.fill("#board-search", "")
    expect(rows).to_have_count(3)
    # The one rule the replay's search and race control's crew search use too.
    cases = {"Łódź": "lodz", "Ærø": "aero", "Ñandú": "nandu", "İstanbul": "istanbul"}
    for text, want in cases.items():
        assert page.evaluate("t => PaceCommon.folded(t)", text) == want, text


def test_a_charts_axis_is_as_wide_as_its_longest_label(page: Any, live_server: Any) -> None:
    """The athlete panel's charts: a mountain race's "2500 m" is not cut to "00 m"."""
    data = load_test_race_create(athletes=1)
    race = Race.objects.select_related("event").get(pk=data["race_id"])
    page.goto(f"{live_server.url}/live/{race.event.slug}/{race.slug}/")
    page.wait_for_function("() => !!(window.PaceLive && window.PaceLive.axisWidth)")
    widths = page.evaluate(
        """labels => {
          const ctx = document.createElement('canvas').getContext('2d');
          const axis = { font: ['12px system-ui'], ticks: { size: 10 }, gap: 5, _size: 0 };
          const u = { ctx, axes: [{}, axis] };
          return labels.map(l => {
            ctx.font = axis.font[0];
            return [PaceLive.axisWidth(u, ['0 m', l], 1, 1), ctx.measureText(l).width];
          });
        }""",
        ["100 m", "2500 m", "12:30", "180"],
    )
    for given, text in widths:
        assert given >= 10 + 5 + text, (given, text)
    assert widths[1][0] > 46  # the old fixed width cut "2500 m"
