"""The public marketplace: home, search, event and organizer pages, courses, calendars."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import gpxpy
import icalendar
import pytest
import time_machine
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from events.models import Event, RaceCategory
from events.tests.factories import make_course, make_event, make_race

pytestmark = pytest.mark.django_db


def _day(days: int) -> str:
    return (timezone.localdate() + dt.timedelta(days=days)).isoformat()


@pytest.fixture
def catalogue(alpha: Any, alpha_event: Event, bravo: Any, bravo_event: Event) -> dict[str, Event]:
    """Published, cancelled, past and draft events of two organizers, with races."""
    fondo = make_event(alpha, "Lyon Gran Fondo", sport="cycling", days_ahead=60, place="Lyon")
    make_race(fondo, "Grand parcours", distance_m=120_000)
    past = make_event(alpha, "Past Run", days_ahead=-30)
    make_race(past, "10K")
    draft = make_event(alpha, "Alpha Secret", status=Event.Status.DRAFT)
    make_race(draft, "Secret 5K", distance_m=5000, course=make_course(alpha, distance_m=5000))
    cancelled = make_event(bravo, "Bravo Off", status=Event.Status.CANCELLED, days_ahead=45)
    make_race(cancelled, "5K", distance_m=5000)
    return {
        "marathon": alpha_event, "trail": bravo_event, "fondo": fondo, "past": past,
        "draft": draft, "cancelled": cancelled,
    }  # fmt: skip


def _listed(client: Client, **params: Any) -> list[str]:
    response = client.get(reverse("events:list"), params)
    assert response.status_code == 200
    return [event.name for event in response.context["page"].object_list]


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
    assert _listed(client) == ["Alpha Marathon", "Bravo Trail", "Bravo Off", "Lyon Gran Fondo"]


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
    assert set(_listed(client, **params)) == expected


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
    second = _listed(client, sport="running", page=2)
    assert second == [f"Run {n:02}" for n in range(20, 25)]
    assert _listed(client, sport="running", page=999) == second  # past the end: the last page


INVALID = [
    ({"page": "0"}, "Ensure this value is greater than or equal to 1."),
    ({"page": "abc"}, "Enter a whole number."),
    ({"distance_min": "-1"}, "Ensure this value is greater than or equal to 0."),
    ({"distance_max": "nan"}, "Enter a number."),
    ({"distance_min": "1e999"}, "Enter a number."),
    ({"distance_min": "50", "distance_max": "10"}, "The maximum distance is below the minimum."),
    ({"date_from": "notadate"}, "Enter a valid date."),
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
    assert "Alpha Secret" not in _listed(client)


def test_it_shows_an_organizers_upcoming_and_past_public_events(client: Client, catalogue):
    response = client.get(catalogue["marathon"].organizer.get_absolute_url())
    assert response.status_code == 200
    assert [e.name for e in response.context["upcoming"]] == ["Alpha Marathon", "Lyon Gran Fondo"]
    assert [e.name for e in response.context["past"]] == ["Past Run"]
    assert "Alpha Secret" not in response.content.decode()


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


# --- Query counts of the hot pages ---------------------------------------------------------


@pytest.fixture
def busy(alpha: Any, bravo: Any) -> Event:
    """Many events, each with several races; one with courses, categories and split points."""
    for organizer in (alpha, bravo):
        for n in range(6):
            event = make_event(organizer, f"{organizer.name} {n}", days_ahead=5 + n)
            for km in (5, 10, 21):
                make_race(event, f"{km}K", distance_m=km * 1000)
    full = make_event(alpha, "Full Event", days_ahead=1)
    for km in (5, 10, 21):
        race = make_race(full, f"{km}K", distance_m=km * 1000, course=make_course(alpha, seed=km))
        RaceCategory.objects.create(race=race, code="F", name="Women", sex="F")
        RaceCategory.objects.create(race=race, code="M", name="Men", sex="M")
    return full


@pytest.mark.parametrize(
    ("url", "queries"),
    [
        (reverse("events:home"), 3),
        (reverse("events:list"), 3),
        (reverse("events:list") + "?distance_min=8&sport=running&page=1", 3),
        (reverse("events:detail", args=["full-event"]), 4),
        (reverse("events:organizer", args=["alpha-races"]), 3),
    ],
)
def test_it_renders_hot_pages_in_a_fixed_number_of_queries(
    client: Client, busy, django_assert_max_num_queries, url, queries
):
    with django_assert_max_num_queries(queries):
        response = client.get(url)
    assert response.status_code == 200
    assert "Full Event" in response.content.decode()


def test_it_renders_an_event_page_for_a_member_in_a_fixed_number_of_queries(
    client: Client, busy, alice, django_assert_max_num_queries
):
    client.force_login(alice)
    # The session and the user come on top of the page's own.
    with django_assert_max_num_queries(4 + 2):
        assert client.get(busy.get_absolute_url()).status_code == 200


# --- Page cache ---------------------------------------------------------------------------


def test_it_serves_repeat_anonymous_visits_from_the_cache(
    client: Client, catalogue, django_assert_num_queries
):
    for url in [
        reverse("events:home"),
        reverse("events:list") + "?sport=trail",
        catalogue["marathon"].get_absolute_url(),
        catalogue["marathon"].organizer.get_absolute_url(),
    ]:
        first = client.get(url)
        with django_assert_num_queries(0):
            again = client.get(url)
        assert again.status_code == 200
        assert again.content == first.content
        assert again["Content-Type"] == first["Content-Type"]
        assert "public" in again["Cache-Control"]


def test_it_caches_each_query_string_apart(client: Client, catalogue):
    assert _listed(client, sport="trail") == ["Bravo Trail"]
    html = client.get(reverse("events:list"), {"sport": "cycling"}).content.decode()
    assert "Lyon Gran Fondo" in html
    assert "Bravo Trail" not in html


def test_it_does_not_cache_a_not_found_page(client: Client, catalogue):
    make_event(catalogue["marathon"].organizer, "New Slug")
    assert client.get(reverse("events:detail", args=["newer"])).status_code == 404
    Event.objects.filter(slug="new-slug").update(slug="newer")  # behind the signals' back
    assert client.get(reverse("events:detail", args=["newer"])).status_code == 200


def test_it_shows_an_edited_event_at_once(client: Client, catalogue):
    event = catalogue["marathon"]
    client.get(event.get_absolute_url())
    client.get(reverse("events:home"))
    event.name = "Alpha Marathon Renamed"
    event.save()
    assert "Alpha Marathon Renamed" in client.get(event.get_absolute_url()).content.decode()
    assert "Alpha Marathon Renamed" in client.get(reverse("events:home")).content.decode()


def test_it_shows_an_event_published_in_the_admin_at_once(
    client: Client, catalogue, alice, django_capture_on_commit_callbacks
):
    draft = catalogue["draft"]
    assert "Alpha Secret" not in _listed(client)
    assert client.get(draft.get_absolute_url()).status_code == 404
    back_office = Client()
    back_office.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        back_office.post(
            reverse("admin:events_event_changelist"),
            {"action": "publish", "_selected_action": [draft.pk]},
        )
    assert "Alpha Secret" in _listed(client)
    assert client.get(draft.get_absolute_url()).status_code == 200


def test_it_stops_serving_an_event_sent_back_to_draft_in_the_admin(
    client: Client, catalogue, alice, django_capture_on_commit_callbacks
):
    event = catalogue["marathon"]
    assert client.get(event.get_absolute_url()).status_code == 200
    back_office = Client()
    back_office.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        back_office.post(
            reverse("admin:events_event_changelist"),
            {"action": "unpublish", "_selected_action": [event.pk]},
        )
    assert client.get(event.get_absolute_url()).status_code == 404
    assert "Alpha Marathon" not in client.get(reverse("events:home")).content.decode()


def test_it_never_serves_the_cached_anonymous_page_to_a_logged_in_user(
    client: Client, catalogue, alice
):
    url = catalogue["marathon"].get_absolute_url()
    anonymous = client.get(url).content.decode()
    assert "Log out" not in anonymous
    member = Client()
    member.force_login(alice)
    response = member.get(url)
    assert "Log out" in response.content.decode()
    assert "public" not in response.get("Cache-Control", "")
    # ...and what a logged-in user saw is not kept for anonymous visitors either.
    assert "Log out" not in client.get(url).content.decode()


def test_it_does_not_keep_a_members_draft_page_for_anonymous_visitors(
    client: Client, catalogue, alice
):
    member = Client()
    member.force_login(alice)
    draft = catalogue["draft"]
    assert member.get(draft.get_absolute_url()).status_code == 200
    assert client.get(draft.get_absolute_url()).status_code == 404


def test_it_says_on_the_event_page_when_a_race_takes_no_more_entries(client: Client, alpha_event):
    race = alpha_event.races.get()
    enter = reverse("events:enter", args=[alpha_event.slug, race.slug])
    assert enter in client.get(alpha_event.get_absolute_url()).content.decode()
    cache.clear()
    with time_machine.travel(race.start_time + dt.timedelta(minutes=1), tick=False):
        page = client.get(alpha_event.get_absolute_url()).content.decode()
    assert enter not in page
    assert "Entries closed" in page
