"""Text that organizers type or upload is shown as text on public pages, never run.

Anyone can sign up and start an organizer, so every name on a public page is
an attacker's string: split point names (typed in the back office or taken
from a GPX waypoint) reach the course map's tooltips, organizer, event, race
and category names reach the pages and cards.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from events.courses import course_create
from events.models import Event, Organizer, Race, RaceCategory, SplitPoint
from events.tests.factories import make_event, make_organizer, make_race
from pace.lib.gpxsynth import synth_course_gpx

pytestmark = pytest.mark.browser
SCREENSHOT = Path(os.environ.get("PACE_XSS_SCREENSHOT", "/tmp/pace-xss-event.png"))

IMG = '<img src=x onerror="window.__xss=1">'
SCRIPT = "<script>window.__xss=2</script>"
WAYPOINT = '<img src=x onerror="window.__xss=3">'


def _gpx_with_waypoint(name: str) -> str:
    """A synthetic course with one waypoint on its track, named ``name`` (XML-escaped,
    as a GPX exporter writes it: the parser hands back the raw string)."""
    gpx = synth_course_gpx(
        name="Hostile", lat=45.0, lon=6.0, distance_m=10_000, shape="loop", climb_m=100, seed=7
    )
    first = gpx.index("<trkpt ")
    middle = gpx.index("<trkpt ", first + len(gpx) // 3)
    point = gpx[middle : gpx.index(">", middle)].replace("<trkpt", "<wpt")
    escaped = name.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
    waypoint = f"{point}><name>{escaped}</name></wpt>\n  "
    at = gpx.index("<trk>")
    return gpx[:at] + waypoint + gpx[at:]


@pytest.fixture
def hostile_event(db: None) -> Event:
    """An event whose organizer typed markup into every name it could."""
    organizer = make_organizer("Mallory Runs")
    Organizer.objects.filter(pk=organizer.pk).update(name=IMG, description=SCRIPT)
    course = course_create(organizer=organizer, gpx_data=_gpx_with_waypoint(WAYPOINT))
    assert list(course.split_points.values_list("name", flat=True)) == [WAYPOINT]
    SplitPoint.objects.create(course=course, name=SCRIPT, distance_m=7500)
    SplitPoint.objects.create(course=course, name=IMG, distance_m=1000)
    event = make_event(organizer, "Mallory Marathon")
    race = make_race(event, "10K", course=course)
    Event.objects.filter(pk=event.pk).update(
        name=SCRIPT, summary=IMG, description=SCRIPT, place=IMG, region=SCRIPT
    )
    Race.objects.filter(pk=race.pk).update(name=IMG)
    RaceCategory.objects.create(race=race, code="X", name=SCRIPT)
    event.refresh_from_db()
    return event


def _assert_nothing_ran(page: Any) -> None:
    assert page.evaluate("typeof window.__xss") == "undefined"
    expect(page.locator("main img[src=x]")).to_have_count(0)
    assert page.js_errors == []


def test_it_shows_hostile_split_names_as_text_in_the_course_map_tooltips(
    page: Any, live_server: Any, hostile_event: Event
) -> None:
    page.goto(live_server.url + hostile_event.get_absolute_url())
    expect(page.locator(".map[data-ready='1'] path.course-line")).to_have_count(1)
    markers = page.locator(".map path.split-marker")
    expect(markers).to_have_count(3)
    # Markers come in the course's order (by distance); the GPX placed the waypoint's.
    course = hostile_event.races.get().course
    names = list(course.split_points.values_list("name", flat=True))
    shown = {IMG: f"{IMG} · 1.0 km", SCRIPT: f"{SCRIPT} · 7.5 km", WAYPOINT: f"{WAYPOINT} · "}
    for i, name in enumerate(names):
        markers.nth(i).hover(force=True)
        # Picked by its text: the tooltip left before fades out for a moment.
        tooltip = page.locator(
            ".leaflet-tooltip", has_text=re.compile("^" + re.escape(shown[name]))
        )
        expect(tooltip).to_be_visible()
        expect(tooltip.locator("img, script")).to_have_count(0)

    # The names a visitor reads on the page itself.
    expect(page.locator("h1")).to_have_text(SCRIPT)
    expect(page.locator(".race h3")).to_have_text(IMG)
    expect(page.locator(".categories .pill")).to_have_text(SCRIPT)
    expect(page.locator(".splits .pill")).to_have_text(names)
    expect(page.locator(".event-side a").first).to_have_text(IMG)
    expect(page.locator(".prose")).to_contain_text(SCRIPT)
    expect(page).to_have_title(re.compile("^" + re.escape(SCRIPT)))

    markers.nth(0).hover(force=True)  # a tooltip in the screenshot, to look at
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    _assert_nothing_ran(page)


def test_it_shows_hostile_names_as_text_on_the_organizer_page_and_event_cards(
    page: Any, live_server: Any, hostile_event: Event
) -> None:
    page.goto(live_server.url + hostile_event.organizer.get_absolute_url())
    expect(page.locator("h1")).to_have_text(IMG)
    expect(page.locator(".prose")).to_contain_text(SCRIPT)
    expect(page.locator(".event-card").first).to_contain_text(SCRIPT)
    _assert_nothing_ran(page)

    for path in ("/", "/events/"):
        page.goto(live_server.url + path)
        expect(page.locator(".event-card").first).to_contain_text(SCRIPT)
        _assert_nothing_ran(page)
