"""What search engines read: sitemap, robots.txt, JSON-LD and the page's meta tags."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest
from django.conf import settings
from django.test import Client

from events.models import Event
from events.tests.factories import make_event, make_organizer, make_race

pytestmark = pytest.mark.django_db

SITEMAP_NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}


class _Head(HTMLParser):
    """Collects <meta property>, <link rel> and JSON-LD script contents of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.meta: dict[str, str] = {}
        self.links: dict[str, str] = {}
        self.json_ld: list[str] = []
        self._in_json_ld = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "meta" and a.get("property"):
            self.meta[a["property"] or ""] = a.get("content") or ""
        elif tag == "link" and a.get("rel"):
            self.links[a["rel"] or ""] = a.get("href") or ""
        self._in_json_ld = tag == "script" and a.get("type") == "application/ld+json"

    def handle_endtag(self, tag: str) -> None:
        self._in_json_ld = False

    def handle_data(self, data: str) -> None:
        if self._in_json_ld:
            self.json_ld.append(data)


def _head(client: Client, event: Event) -> _Head:
    response = client.get(event.get_absolute_url())
    assert response.status_code == 200
    head = _Head()
    head.feed(response.content.decode())
    return head


def _json_ld(client: Client, event: Event) -> dict[str, Any]:
    (data,) = _head(client, event).json_ld
    return json.loads(data)


def _sitemap_paths(client: Client) -> list[str]:
    response = client.get("/sitemap.xml")
    assert response.status_code == 200
    root = ElementTree.fromstring(response.content)
    return [loc.text or "" for loc in root.findall("s:url/s:loc", SITEMAP_NS)]


@pytest.fixture
def events(alpha_event: Event, bravo_event: Event, charlie: Any) -> dict[str, Event]:
    cancelled = make_event(bravo_event.organizer, "Bravo Off", status=Event.Status.CANCELLED)
    make_race(cancelled, "5K", distance_m=5000)
    draft = make_event(alpha_event.organizer, "Alpha Secret", status=Event.Status.DRAFT)
    hidden = make_organizer("Gamma Hidden", members={charlie: "owner"})
    make_event(hidden, "Gamma Draft", status=Event.Status.DRAFT)
    return {"marathon": alpha_event, "trail": bravo_event, "cancelled": cancelled, "draft": draft}


# --- Sitemap and robots.txt ----------------------------------------------------------


def test_it_lists_public_events_and_their_organizers_in_the_sitemap(client: Client, events):
    paths = {urlsplit(loc).path for loc in _sitemap_paths(client)}
    assert {
        "/", "/events/", "/events/alpha-marathon/", "/events/bravo-trail/", "/events/bravo-off/",
        "/organizers/alpha-races/", "/organizers/bravo-events/",
    } <= paths  # fmt: skip
    assert "/events/alpha-secret/" not in paths
    assert "/events/gamma-draft/" not in paths
    assert "/organizers/gamma-hidden/" not in paths


def test_it_puts_the_sites_own_address_in_the_sitemap(client: Client, events):
    assert all(loc.startswith(f"{settings.SITE_URL}/") for loc in _sitemap_paths(client))


def test_it_keeps_robots_out_of_the_back_office_and_points_them_to_the_sitemap(client: Client):
    response = client.get("/robots.txt")
    lines = response.content.decode().splitlines()
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain"
    assert "User-agent: *" in lines
    assert "Disallow: /admin/" in lines
    assert f"Sitemap: {settings.SITE_URL}/sitemap.xml" in lines


# --- Event page -------------------------------------------------------------------


def test_it_describes_an_event_as_a_schema_org_sports_event(client: Client, events):
    event = events["marathon"]
    data = _json_ld(client, event)
    assert data["@context"] == "https://schema.org"
    assert data["@type"] == "SportsEvent"
    assert data["name"] == "Alpha Marathon"
    assert data["startDate"] == event.start_date.isoformat()
    assert data["url"] == f"{settings.SITE_URL}/events/alpha-marathon/"
    assert data["eventStatus"] == "https://schema.org/EventScheduled"
    geo = data["location"]["geo"]
    assert (geo["latitude"], geo["longitude"]) == (45.9, 6.1)
    assert data["location"]["address"]["addressCountry"] == "FR"
    assert data["organizer"]["name"] == "Alpha Races"
    (offer,) = data["offers"]
    assert (offer["@type"], offer["price"], offer["priceCurrency"]) == ("Offer", "25.00", "EUR")
    (race,) = data["subEvent"]
    assert race["name"] == "Alpha Marathon: Marathon"


def test_it_marks_a_cancelled_event_cancelled_for_search_engines(client: Client, events):
    data = _json_ld(client, events["cancelled"])
    assert data["eventStatus"] == "https://schema.org/EventCancelled"


def test_it_keeps_an_organizers_text_inside_the_json_ld_script(client: Client, events):
    event = events["marathon"]
    event.name = 'Run </script><script>alert("x")</script> & <!-- fun'
    event.save()
    html = client.get(event.get_absolute_url()).content.decode()
    assert "<script>alert(" not in html
    assert _json_ld(client, event)["name"] == event.name


def test_it_gives_an_event_page_its_canonical_address_and_open_graph_tags(client: Client, events):
    head = _head(client, events["marathon"])
    assert head.links["canonical"] == f"{settings.SITE_URL}/events/alpha-marathon/"
    assert head.meta["og:title"] == "Alpha Marathon"
    assert head.meta["og:type"] == "event"
    assert head.meta["og:url"] == f"{settings.SITE_URL}/events/alpha-marathon/"
    assert head.meta["og:site_name"] == "Pace"


def test_it_gives_the_canonical_address_without_the_query_string(client: Client, events):
    response = client.get(events["marathon"].get_absolute_url() + "?utm_source=mail")
    match = re.search(r'<link rel="canonical" href="([^"]+)">', response.content.decode())
    assert match is not None
    assert match.group(1) == f"{settings.SITE_URL}/events/alpha-marathon/"
