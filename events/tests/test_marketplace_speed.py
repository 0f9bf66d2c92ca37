"""How the hot public pages stay fast: a fixed number of queries, and the page cache
that serves anonymous visits until something they show changes."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from events.models import Event, RaceCategory
from events.tests.catalogue import listed, make_catalogue
from events.tests.factories import make_course, make_event, make_race

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue(alpha: Any, alpha_event: Event, bravo: Any, bravo_event: Event) -> dict[str, Event]:
    return make_catalogue(alpha, alpha_event, bravo, bravo_event)


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
        # The event page: its own 4, and one for the results links (events.race_pages).
        (reverse("events:detail", args=["full-event"]), 5),
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
    # The session and the user come on top of the page's own (with its results links).
    with django_assert_max_num_queries(5 + 2):
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
    assert listed(client, sport="trail") == ["Bravo Trail"]
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


def _event_action(user: Any, action: str, event: Event) -> None:
    """Run an admin action on one event from ``user``'s own back office session."""
    back_office = Client()
    back_office.force_login(user)
    back_office.post(
        reverse("admin:events_event_changelist"), {"action": action, "_selected_action": [event.pk]}
    )


def test_it_shows_an_event_published_in_the_admin_at_once(
    client: Client, catalogue, alice, django_capture_on_commit_callbacks
):
    draft = catalogue["draft"]
    assert "Alpha Secret" not in listed(client)
    assert client.get(draft.get_absolute_url()).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        _event_action(alice, "publish", draft)
    assert "Alpha Secret" in listed(client)
    assert client.get(draft.get_absolute_url()).status_code == 200


def test_it_stops_serving_an_event_sent_back_to_draft_in_the_admin(
    client: Client, catalogue, alice, django_capture_on_commit_callbacks
):
    event = catalogue["marathon"]
    assert client.get(event.get_absolute_url()).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        _event_action(alice, "unpublish", event)
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
