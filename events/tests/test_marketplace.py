"""The public marketplace: home, search, event and organizer pages, courses, calendars
(how fast the hot pages are served: ``test_marketplace_speed.py``)."""

from __future__ import annotations

import datetime as dt
import json
import string
import unicodedata
from typing import Any

import gpxpy
import icalendar
import pytest
import time_machine
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.models import Event
from events.tests.catalogue import listed, make_catalogue
from events.tests.factories import make_event
from pace.lib.testing import cache_clear_own

pytestmark = pytest.mark.django_db


def _day(days: int) -> str:
    return (timezone.localdate() + dt.timedelta(days=days)).isoformat()


@pytest.fixture
def catalogue(alpha: Any, alpha_event: Event, bravo: Any, bravo_event: Event) -> dict[str, Event]:
    return make_catalogue(alpha, alpha_event, bravo, bravo_event)


# --- Home and list ---------------------------------------------------------------


def test_it_shows_upcoming_public_events_on_the_home_page(client: Client, catalogue):
    response = client.get(reverse("events:home"))
    html = response.content.decode()
    assert response.status_code == 200
    assert [e.name for e in response.context["events"]] == [
        "Alpha Marathon", "Bravo Trail", "Bravo Off", "Lyon Gran Fondo",
    ]  # fmt: skip
    assert "Alpha Secret" not in html
    assert "Past Run" not in html
    assert ("trail", "Trail running", 1) in response.context["sports"]


def test_it_lists_upcoming_published_and_cancelled_events_by_date(client: Client, catalogue):
    assert listed(client) == ["Alpha Marathon", "Bravo Trail", "Bravo Off", "Lyon Gran Fondo"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"sport": "trail"}, {"Bravo Trail"}),
        ({"sport": "cycling"}, {"Lyon Gran Fondo"}),
        ({"country": "CH"}, {"Bravo Trail"}),
        ({"place": "zERMa"}, {"Bravo Trail"}),
        ({"q": "gran fondo"}, {"Lyon Gran Fondo"}),
        ({"q": "alpha races"}, {"Alpha Marathon", "Lyon Gran Fondo"}),  # the organizer's name
        ({"date_from": _day(50), "date_to": _day(70)}, {"Lyon Gran Fondo"}),
        ({"date_to": _day(40)}, {"Alpha Marathon", "Bravo Trail"}),
        ({"date_from": _day(-40), "date_to": _day(-20)}, {"Past Run"}),
        ({"distance_min": "30"}, {"Alpha Marathon", "Lyon Gran Fondo"}),
        ({"distance_max": "10"}, {"Bravo Off"}),
        ({"distance_min": "15", "distance_max": "50"}, {"Alpha Marathon", "Bravo Trail"}),
        ({"distance_min": "42.195", "distance_max": "42.195"}, {"Alpha Marathon"}),
        ({"sport": "running", "country": "CH"}, set()),
    ],
)
def test_it_filters_the_list(client: Client, catalogue, params, expected):
    assert set(listed(client, **params)) == expected


def test_it_finds_events_whatever_the_accents_and_case(client: Client, alpha: Any) -> None:
    make_event(alpha, "Course de Noël", place="Zürich")
    make_event(alpha, "Łódź Półmaraton", place="Łódź")
    make_event(alpha, "STRASSENLAUF", place="Köln")
    for params, expected in [
        ({"q": "noel"}, {"Course de Noël"}),
        ({"q": "NOËL"}, {"Course de Noël"}),
        ({"q": "zurich"}, {"Course de Noël"}),  # the place, in the text search
        ({"place": "ZURICH"}, {"Course de Noël"}),
        ({"place": "zür"}, {"Course de Noël"}),
        ({"q": "lodz polmaraton"}, {"Łódź Półmaraton"}),
        ({"q": "straßen"}, {"STRASSENLAUF"}),
        ({"place": "koln"}, {"STRASSENLAUF"}),
        ({"q": "100%"}, set()),  # a LIKE wildcard is a character like any other
        ({"q": "_"}, set()),
    ]:
        assert set(listed(client, **params)) == expected, params


# Names as people write them: letters with or without an accent (composed, as typed).
ACCENTS = ["", "\u0301", "\u0300", "\u0302", "\u0308", "\u030a", "\u030c", "\u0327", "\u0303"]
LETTERS = st.builds(
    lambda base, accent: unicodedata.normalize("NFC", base + accent),
    st.sampled_from(string.ascii_letters),
    st.sampled_from(ACCENTS),
)


# The client and organizer are shared by the examples: each rolls its event back.
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(letters=st.lists(LETTERS, min_size=3, max_size=14), data=st.data())
def test_an_event_is_found_by_any_part_of_its_name_typed_without_accents(
    client: Client, alpha: Any, letters: list[str], data: Any
) -> None:
    cache_clear_own()  # a page cached by an earlier example
    name = "".join(letters)
    start = data.draw(st.integers(0, len(letters) - 1))
    end = data.draw(st.integers(start + 1, len(letters)))
    # What a phone keyboard types: the base letters, in any case.
    typed = "".join(unicodedata.normalize("NFKD", c)[0] for c in letters[start:end]).swapcase()
    # Each example in a savepoint rolled back, whatever happens: a failing example leaves
    # nothing behind for its replay to trip on (its event's slug, taken, hid the failure).
    with transaction.atomic():
        make_event(alpha, name)
        found = listed(client, q=typed)
        transaction.set_rollback(True)
    assert name in found, (name, typed)


def test_it_says_so_when_nothing_matches(client: Client, catalogue):
    response = client.get(reverse("events:list"), {"q": "nothing like this"})
    assert "No events match these filters" in response.content.decode()


def test_it_paginates_and_keeps_the_filters_in_the_page_links(client: Client, alpha):
    for n in range(25):
        make_event(alpha, f"Run {n:02}", days_ahead=10 + n)
    first = client.get(reverse("events:list"), {"sport": "running"})
    assert len(first.context["page"].object_list) == 20
    assert first.context["page"].paginator.count == 25
    assert 'href="?sport=running&page=2"' in first.content.decode()
    second = listed(client, sport="running", page=2)
    assert second == [f"Run {n:02}" for n in range(20, 25)]
    assert listed(client, sport="running", page=999) == second  # past the end: the last page


INVALID = [
    ({"page": "0"}, "Ensure this value is greater than or equal to 1."),
    ({"page": "abc"}, "Enter a whole number."),
    ({"distance_min": "-1"}, "Ensure this value is greater than or equal to 0."),
    ({"distance_max": "nan"}, "Enter a number."),
    ({"distance_min": "1e999"}, "Enter a number."),
    ({"distance_min": "50", "distance_max": "10"}, "The maximum distance is below the minimum."),
    ({"date_from": "notadate"}, "Enter a valid date."),
    # Not guessed as 12 May (the page's date field, which shows only ISO dates, was blank).
    ({"date_from": "05/12/2026"}, "Enter a valid date."),
    (
        {"date_from": "2030-05-02", "date_to": "2030-05-01"},
        "The end date is before the start date.",
    ),
    ({"sport": "curling"}, "Select a valid choice. curling is not one of the available choices."),
    ({"country": "XX"}, "Select a valid choice. XX is not one of the available choices."),
    ({"q": "x" * 101}, "Ensure this value has at most 100 characters (it has 101)."),
    ({"q": "a\x00b"}, "Null characters are not allowed."),
]


@pytest.mark.parametrize(("params", "message"), INVALID)
def test_it_answers_bad_filters_with_400_and_the_reason(client: Client, catalogue, params, message):
    response = client.get(reverse("events:list"), params)
    assert response.status_code == 400
    errors = [e for field_errors in response.context["form"].errors.values() for e in field_errors]
    assert message in errors
    assert "Some filters are not valid" in response.content.decode()


@pytest.mark.parametrize(
    ("params", "message"),
    [pytest.param(params, message) for params, message in INVALID],
)
def test_it_shows_the_reason_for_a_bad_filter_on_the_page(client: Client, params, message):
    html = client.get(reverse("events:list"), params).content.decode()
    assert message in html.replace("&#x27;", "'").replace("&quot;", '"')


# --- Event and organizer pages --------------------------------------------------------


def test_it_answers_404_for_unknown_slugs_and_ids(client: Client, catalogue):
    for url in [
        reverse("events:detail", args=["no-such-event"]),
        reverse("events:calendar", args=["no-such-event"]),
        reverse("events:organizer", args=["no-such-organizer"]),
        reverse("events:course", args=[999_999]),
    ]:
        assert client.get(url).status_code == 404, url


def test_it_shows_an_event_with_its_races(client: Client, catalogue):
    event = catalogue["marathon"]
    response = client.get(event.get_absolute_url())
    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Alpha Marathon</h1>" in html
    assert 'id="race-marathon"' in html
    assert "25.00 EUR" in html
    assert reverse("events:course", args=[event.races.get().course_id]) in html
    assert "cancelled" not in html.lower()


def test_it_tells_visitors_an_event_is_cancelled(client: Client, catalogue):
    html = client.get(catalogue["cancelled"].get_absolute_url()).content.decode()
    assert "This event has been cancelled." in html


@pytest.mark.parametrize(("persona", "status"), [(None, 404), ("dave", 404), ("charlie", 404)])
def test_it_hides_a_draft_from_everyone_outside_its_organizer(
    request, client: Client, catalogue, persona, status
):
    if persona:
        client.force_login(request.getfixturevalue(persona))
    draft = catalogue["draft"]
    assert client.get(draft.get_absolute_url()).status_code == status
    assert client.get(reverse("events:calendar", args=[draft.slug])).status_code == status
    assert "Alpha Secret" not in client.get(reverse("events:list")).content.decode()
    assert "Alpha Secret" not in client.get(reverse("events:home")).content.decode()


@pytest.mark.parametrize("persona", ["alice", "bob"])
def test_it_shows_a_draft_to_its_organizers_members(request, client: Client, catalogue, persona):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(catalogue["draft"].get_absolute_url())
    assert response.status_code == 200
    assert "Draft: only your organizer" in response.content.decode()
    # Members see it on its page, never in the public list.
    assert "Alpha Secret" not in listed(client)


def test_it_shows_an_organizers_upcoming_and_past_public_events(client: Client, catalogue):
    response = client.get(catalogue["marathon"].organizer.get_absolute_url())
    assert response.status_code == 200
    assert [e.name for e in response.context["upcoming"]] == ["Alpha Marathon", "Lyon Gran Fondo"]
    assert [e.name for e in response.context["past"]] == ["Past Run"]
    assert "Alpha Secret" not in response.content.decode()


def test_it_says_on_the_event_page_when_a_race_takes_no_more_entries(client: Client, alpha_event):
    race = alpha_event.races.get()
    enter = reverse("events:enter", args=[alpha_event.slug, race.slug])
    assert enter in client.get(alpha_event.get_absolute_url()).content.decode()
    cache_clear_own()
    with time_machine.travel(race.start_time + dt.timedelta(minutes=1), tick=False):
        page = client.get(alpha_event.get_absolute_url()).content.decode()
    assert enter not in page
    assert "Entries closed" in page


# --- Courses and calendars --------------------------------------------------------------


def test_it_serves_a_public_course_as_geojson(client: Client, catalogue):
    course = catalogue["marathon"].races.get().course
    response = client.get(reverse("events:course", args=[course.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/geo+json"
    feature = json.loads(response.content)
    assert feature["type"] == "Feature"
    assert feature["geometry"]["type"] == "LineString"
    assert len(feature["geometry"]["coordinates"]) >= 2
    assert feature["properties"]["distance"] == pytest.approx(42195, rel=0.05)
    splits = feature["properties"]["split_points"]
    assert (splits[0]["name"], splits[-1]["name"]) == ("Start", "Finish")
    assert all(-90 <= s["lat"] <= 90 and -180 <= s["lon"] <= 180 for s in splits)


def test_it_serves_a_public_course_as_gpx(client: Client, catalogue):
    course = catalogue["trail"].races.get().course
    response = client.get(reverse("events:course", args=[course.pk]), {"format": "gpx"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/gpx+xml"
    assert response["Content-Disposition"] == f'attachment; filename="course-{course.pk}.gpx"'
    gpx = gpxpy.parse(response.content.decode())
    assert gpx.length_2d() == pytest.approx(course.distance_m, rel=0.05)


def test_it_lets_shared_caches_keep_only_what_anyone_may_see(
    client: Client, catalogue, alice, settings
):
    public = catalogue["marathon"].races.get().course
    for _ in ("miss", "hit"):
        response = client.get(reverse("events:course", args=[public.pk]))
        assert response["Cache-Control"] == f"public, max-age={settings.PAGE_CACHE_SECONDS}"
    client.force_login(alice)
    draft_only = catalogue["draft"].races.get().course
    response = client.get(reverse("events:course", args=[draft_only.pk]))
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, max-age=300"


def test_it_refuses_an_unknown_course_format(client: Client, catalogue):
    course = catalogue["trail"].races.get().course
    response = client.get(reverse("events:course", args=[course.pk]), {"format": "xml"})
    assert response.status_code == 400
    assert response.json() == {"error": "format must be geojson or gpx"}


@pytest.mark.parametrize(("persona", "status"), [(None, 404), ("charlie", 404), ("alice", 200)])
def test_it_serves_a_draft_only_course_to_its_organizer_only(
    request, client: Client, catalogue, persona, status
):
    if persona:
        client.force_login(request.getfixturevalue(persona))
    course = catalogue["draft"].races.get().course
    for fmt in ("geojson", "gpx"):
        response = client.get(reverse("events:course", args=[course.pk]), {"format": fmt})
        assert response.status_code == status


def test_it_gives_a_calendar_file_with_the_event_and_each_race_start(client: Client, catalogue):
    event = catalogue["marathon"]
    response = client.get(reverse("events:calendar", args=[event.slug]))
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="alpha-marathon.ics"'
    calendar = icalendar.Calendar.from_ical(response.content)
    day, race = calendar.walk("VEVENT")
    assert str(day["SUMMARY"]) == "Alpha Marathon"
    assert day.decoded("DTSTART") == event.start_date
    assert str(day["STATUS"]) == "CONFIRMED"
    assert str(race["SUMMARY"]) == "Alpha Marathon: Marathon start"
    assert race.decoded("DTSTART") == event.races.get().start_time


def test_it_marks_a_cancelled_event_cancelled_in_its_calendar_file(client: Client, catalogue):
    response = client.get(reverse("events:calendar", args=[catalogue["cancelled"].slug]))
    (day, _race) = icalendar.Calendar.from_ical(response.content).walk("VEVENT")
    assert str(day["STATUS"]) == "CANCELLED"
