"""The embed widget: the one page any site may frame, public races only."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from events.models import Event, Race
from tracking.sim.testrace import load_test_race_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def race() -> Race:
    data = load_test_race_create(athletes=3)
    return Race.objects.select_related("event").get(pk=data["race_id"])


def embed(race: Race) -> str:
    return f"/embed/{race.event.slug}/{race.slug}/"


def test_it_lets_any_site_frame_the_widget_and_no_other_page(client: Client, race: Race) -> None:
    for _ in range(2):  # the second from whatever cache there is: still frameable
        response = client.get(embed(race))
        assert response.status_code == 200
        assert response["Content-Security-Policy"] == "frame-ancestors *"
        assert "X-Frame-Options" not in response
    assert b"Open on" in response.content and f"/ws/live/{race.pk}/".encode() in response.content
    for page in (f"/live/{race.event.slug}/{race.slug}/", "/", race.event.get_absolute_url()):
        for _ in range(2):
            other = client.get(page)
            assert other.status_code == 200
            assert other["X-Frame-Options"] == "DENY"
            assert "frame-ancestors" not in other.get("Content-Security-Policy", "")


@pytest.mark.django_db(transaction=True)  # Django's handler answers in a thread of its own
def test_a_cached_widget_stays_frameable_and_one_athlete_keeps_their_own_page(
    settings: Any,
) -> None:
    """Hits come from the page fast path, which runs the site's middleware (DENY for
    every other page): the entry carries the exemption. ``?athlete=`` is the widget's
    own parameter, not a script-only one as on the live page: each bib its own entry."""
    from django.core.handlers.asgi import ASGIHandler

    from pace.daphne_patches.fastpath import PageFastPath
    from pace.lib.testing import asgi_fetch

    settings.ALLOWED_HOSTS = ["pace.example"]
    data = load_test_race_create(athletes=3)
    race = Race.objects.select_related("event").get(pk=data["race_id"])
    first, second = race.registrations.order_by("pk")[:2]
    django, fast = ASGIHandler(), PageFastPath(ASGIHandler())

    def fetch(app: Any, url: str) -> Any:
        return asgi_fetch(app, url, host=b"pace.example")

    urls = [embed(race), *(f"{embed(race)}?athlete={r.bib}" for r in (first, second))]
    for url in urls:
        assert fetch(django, url).status == 200  # a miss: rendered and stored
    answers = [fetch(fast, url) for url in urls]
    for answer in answers:
        assert not answer.by_django and answer.status == 200
        assert answer.header("X-Frame-Options") is None
        assert answer.header("Content-Security-Policy") == "frame-ancestors *"
    bodies = [gzip_or_plain(a.body) for a in answers]
    one = [f'class="embed-bib">#{bib}</span>'.encode() for bib in (first.bib, second.bib)]
    assert b"Leaders" in bodies[0] and b'class="embed embed-one"' not in bodies[0]
    assert one[0] in bodies[1] and one[1] in bodies[2] and one[0] not in bodies[2]
    assert fetch(fast, f"{embed(race)}?athlete=no-such-bib").by_django
    live = fetch(fast, f"/live/{race.event.slug}/{race.slug}/")  # the live page: still DENY
    assert live.header("X-Frame-Options") == "DENY"


def gzip_or_plain(body: bytes) -> bytes:
    import gzip

    return gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body


def test_it_embeds_one_athlete_by_bib(client: Client, race: Race) -> None:
    registration = race.registrations.order_by("pk").first()
    assert registration is not None
    response = client.get(embed(race), {"athlete": registration.bib})
    assert response.status_code == 200
    assert response.context["config"]["athlete"] == registration.pk
    assert response.context["open_url"].endswith(f"?athlete={registration.bib}")
    assert client.get(embed(race), {"athlete": "no-such-bib"}).status_code == 404


def test_it_never_embeds_a_race_that_is_not_public(
    client: Client, race: Race, alice: Any, iris: Any
) -> None:
    Event.objects.filter(pk=race.event_id).update(status=Event.Status.DRAFT)
    assert client.get(embed(race)).status_code == 404
    client.force_login(iris)  # platform staff may watch the live page, not embed it
    assert client.get(f"/live/{race.event.slug}/{race.slug}/").status_code == 200
    assert client.get(embed(race)).status_code == 404


def test_it_gives_the_organizer_the_iframe_to_copy(client: Client, race: Race, iris: Any) -> None:
    client.force_login(iris)
    page = client.get(f"/admin/events/race/{race.pk}/change/")
    assert page.status_code == 200
    assert b"&lt;iframe src=&quot;" in page.content
    assert embed(race).encode() in page.content
