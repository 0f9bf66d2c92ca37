"""Family links: an athlete shares their race without a login, for a while, revocably."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from events.models import Event, Race, Registration
from events.tests.factories import make_event, make_organizer, make_race
from tracking.familylinks import (
    MAX_ACTIVE,
    FamilyLinkError,
    family_link_create,
    family_link_for,
    token_digest,
)
from tracking.models import FamilyLink
from tracking.sim.testrace import load_test_race_create
from tracking.tests.helpers import frame, run

pytestmark = pytest.mark.django_db(transaction=True)
LINKS = "/family-links/"


@pytest.fixture
def race() -> Race:
    data = load_test_race_create(athletes=3)
    race = Race.objects.select_related("event").get(pk=data["race_id"])
    Event.objects.filter(pk=race.event_id).update(status=Event.Status.DRAFT)  # not public
    return race


@pytest.fixture
def entry(race: Race, dave: Any) -> Registration:
    registration = race.registrations.order_by("pk").first()
    assert registration is not None
    registration.user = dave
    registration.save(update_fields=["user"])
    return registration


def live(race: Race) -> str:
    return f"/live/{race.event.slug}/{race.slug}/"


def make(client: Any, entry: Registration, **auth: str) -> Any:
    form = {"action": "create", "registration": entry.pk, "duration": "3d", "label": "Mum"}
    return client.post(LINKS, form | auth)


def token_of(response: Any) -> str:
    path = urlsplit(response.context["url"]).path
    return path.removeprefix("/f/").strip("/")


def test_it_makes_a_link_from_the_entry_page_and_keeps_only_its_hash(
    client: Any, entry: Registration
) -> None:
    page = client.get(f"/entries/{entry.manage_token}/")
    assert b"Share with family" in page.content
    response = make(client, entry, manage=entry.manage_token)
    assert response.status_code == 200
    token = token_of(response)
    link = FamilyLink.objects.get()
    assert link.digest == token_digest(token) and token not in (link.digest, link.hint)
    assert link.label == "Mum"
    assert link.expires_at - link.created_at == dt.timedelta(days=3)
    # Its page lists it (by its hint) with a button to revoke it.
    listed = client.get(f"/entries/{entry.manage_token}/")
    assert link.hint.encode() in listed.content and b"Revoke" in listed.content


def test_it_makes_links_for_the_owner_logged_in_or_with_the_tracking_token(
    client: Any, entry: Registration, charlie: Any
) -> None:
    Event.objects.filter(pk=entry.event_id).update(status=Event.Status.PUBLISHED)
    tracker_page = client.get("/track/", {"token": entry.tracker.token})
    assert b"Share with family" in tracker_page.content
    assert make(client, entry, token=entry.tracker.token).status_code == 200
    assert make(client, entry).status_code == 404  # nobody proved anything
    client.force_login(charlie)
    assert make(client, entry).status_code == 404  # not theirs
    other = Registration.objects.exclude(pk=entry.pk).first()
    assert other is not None
    # Their own tracking token does not open somebody else's entry.
    assert make(client, entry, token=other.tracker.token).status_code == 404
    client.force_login(entry.user)
    assert make(client, entry).status_code == 200
    assert FamilyLink.objects.count() == 2


def test_it_opens_the_private_live_page_focused_without_a_login(
    client: Any, race: Race, entry: Registration
) -> None:
    assert client.get(live(race)).status_code == 404
    token = token_of(make(client, entry, manage=entry.manage_token))
    opened = client.get(f"/f/{token}/")
    assert opened.status_code == 302
    target = urlsplit(opened["Location"])
    assert target.path == live(race)
    assert parse_qs(target.query) == {"athlete": [entry.bib], "family": [token]}
    page = client.get(opened["Location"])
    assert page.status_code == 200
    config = page.context["config"]
    assert config["ws"] == f"/ws/live/{race.pk}/?field=later&token={token}"
    # Its field and roster, which the race's own addresses show only to the organizer.
    for name in ("field_url", "roster_url"):
        assert client.get(config[name]).status_code == 200
        assert client.get(config[name].split("?")[0]).status_code == 404
    # Its course too, which the course's own address shows only to the organizer.
    course = page.context["config"]["course_url"]
    assert client.get(f"/courses/{race.course_id}/").status_code == 404
    assert client.get(course).json()["geometry"]["type"] == "LineString"
    assert client.get(course.split("?")[0]).status_code == 404
    # Only the page of its own race.
    organizer = make_organizer("Bravo Events")
    other = make_race(make_event(organizer, "Night Run", status=Event.Status.DRAFT))
    assert client.get(live(other), {"family": token}).status_code == 404
    assert family_link_for(token=token, race_id=other.pk) is None


def test_it_refuses_expired_and_revoked_links(client: Any, race: Race, entry: Registration) -> None:
    _old, expired = family_link_create(
        registration=entry, duration="24h", now=timezone.now() - dt.timedelta(hours=25)
    )
    assert client.get(f"/f/{expired}/").status_code == 404
    assert client.get(live(race), {"family": expired}).status_code == 404
    token = token_of(make(client, entry, manage=entry.manage_token))
    link = FamilyLink.objects.get(digest=token_digest(token))
    revoke = {"action": "revoke", "registration": entry.pk, "link": link.pk}
    response = client.post(LINKS, revoke | {"manage": entry.manage_token, "next": "/me/races/"})
    assert response.status_code == 302 and response["Location"] == "/me/races/"
    assert client.get(f"/f/{token}/").status_code == 404
    assert client.get(live(race), {"family": token}).status_code == 404
    assert (
        client.post(LINKS, revoke | {"link": "x", "manage": entry.manage_token}).status_code == 404
    )


def test_it_refuses_links_for_entries_not_confirmed_and_past_the_cap(entry: Registration) -> None:
    for _ in range(MAX_ACTIVE):
        family_link_create(registration=entry, duration="7d")
    with pytest.raises(FamilyLinkError, match="revoke one"):
        family_link_create(registration=entry, duration="7d")
    with pytest.raises(FamilyLinkError, match="24 hours"):
        family_link_create(registration=entry, duration="1y")
    entry.status = Registration.Status.CANCELLED
    entry.save(update_fields=["status"])
    with pytest.raises(FamilyLinkError, match="confirmed"):
        family_link_create(registration=entry, duration="24h")


def test_it_limits_how_many_links_are_made(client: Any, entry: Registration, settings: Any) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "family.create.entry": "2/h"}
    for _ in range(2):
        assert make(client, entry, manage=entry.manage_token).status_code == 200
    refused = make(client, entry, manage=entry.manage_token)
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert b"Too many family links" in refused.content


def test_it_lets_a_family_token_open_the_socket_of_a_private_race(
    race: Race, entry: Registration
) -> None:
    link, token = family_link_create(registration=entry, duration="24h")

    async def attempt(query: str) -> Any:
        from channels.testing import WebsocketCommunicator

        from tracking.tests.helpers import APP

        client = WebsocketCommunicator(APP, f"/ws/live/{race.pk}/{query}")
        connected, code = await client.connect(timeout=5)
        if not connected:
            return code
        first = await frame(client, timeout=5)
        await client.disconnect()
        return first["type"]

    assert run(lambda: attempt(f"?token={token}")) == "snapshot"
    assert run(lambda: attempt("")) == 4404
    assert run(lambda: attempt("?token=pf_not-a-real-token")) == 4404
    link.revoked_at = timezone.now()
    link.save()
    assert run(lambda: attempt(f"?token={token}")) == 4404


def test_a_private_races_family_link_gets_ticks_while_its_tracking_is_open(
    race: Race, entry: Registration
) -> None:
    """A draft's race ticks as a published one does (its organizer and family links watch
    it live); a cancelled event's race does not."""
    from channels.testing import WebsocketCommunicator

    from pace.lib.geo import cumulative_distances, point_at_distance
    from tracking.live.engine import Fix
    from tracking.live.livestore import live_store
    from tracking.live.ticker import TickerRunner
    from tracking.selectors import live_race_ids
    from tracking.tests.helpers import APP, frames_until

    _link, token = family_link_create(registration=entry, duration="24h")
    line = race.course.line
    cumulative = cumulative_distances(line)
    lon, lat = point_at_distance(line, cumulative, 800)
    start = race.start_time.timestamp()

    async def scenario() -> list[dict[str, Any]]:
        client = WebsocketCommunicator(APP, f"/ws/live/{race.pk}/?token={token}")
        connected, _ = await client.connect(timeout=5)
        assert connected
        assert (await frame(client, timeout=5))["type"] == "snapshot"
        runner = TickerRunner(owner="family")
        await live_store().publish_fixes(race.pk, [Fix(entry.pk, start + 240, lat, lon)])
        ran = await runner.run_once(start + 240)
        assert ran == [race.pk]
        frames = await frames_until(client, "tick", timeout=5)
        await client.disconnect()
        return frames

    assert race.pk in live_race_ids()
    ticks = [f for f in run(scenario) if f["type"] == "tick"]
    assert any(s["id"] == entry.pk for s in ticks[-1]["athletes"])
    Event.objects.filter(pk=race.event_id).update(status=Event.Status.CANCELLED)
    assert race.pk not in live_race_ids()


def _family_socket_scenario(
    race: Race, token: str, clock: Any, change: Any, seconds: float
) -> tuple[bool, Any]:
    """A socket opened with the link; ``change`` (sync, in the database thread) then the
    clock moved ``seconds``: (nothing came before the change, what came after: None)."""
    from channels.db import database_sync_to_async
    from channels.testing import WebsocketCommunicator

    from tracking.fanout.consumers import FAMILY_RECHECK_SECONDS
    from tracking.tests.helpers import APP

    async def scenario() -> tuple[bool, Any]:
        client = WebsocketCommunicator(APP, f"/ws/live/{race.pk}/?token={token}")
        connected, _ = await client.connect(timeout=5)
        assert connected
        assert (await frame(client, timeout=5))["type"] == "snapshot"
        await clock.sleeping()
        await clock.advance(FAMILY_RECHECK_SECONDS)  # the link still works: nothing
        kept = await client.receive_nothing(0.3)
        await clock.sleeping()
        await database_sync_to_async(change)()
        await clock.advance(seconds)
        quiet = await client.receive_nothing(1.0)
        closed = None if quiet else await client.receive_output(timeout=2)
        await client.disconnect()
        return kept, closed

    return run(scenario)


def test_revoking_a_link_closes_the_sockets_it_opened(
    race: Race, entry: Registration, monkeypatch: Any
) -> None:
    """Sent to the wrong person: revoking cuts their live view within seconds, not only
    their next page (a socket left open went on getting the athlete's positions)."""
    from pace.lib.testing import FakeClock
    from tracking.familylinks import family_link_revoke
    from tracking.fanout.consumers import FAMILY_RECHECK_SECONDS, LiveConsumer

    clock = FakeClock(timezone.now().timestamp())
    monkeypatch.setattr(LiveConsumer, "clock", clock)
    link, token = family_link_create(registration=entry, duration="24h")
    kept, closed = _family_socket_scenario(
        race, token, clock, lambda: family_link_revoke(link=link), FAMILY_RECHECK_SECONDS
    )
    assert kept
    assert closed == {"type": "websocket.close", "code": 4404}


def test_a_link_expiring_closes_its_sockets_and_publishing_keeps_them(
    race: Race, entry: Registration, monkeypatch: Any
) -> None:
    from pace.lib.testing import FakeClock
    from tracking.fanout.consumers import LiveConsumer

    clock = FakeClock(timezone.now().timestamp())
    monkeypatch.setattr(LiveConsumer, "clock", clock)
    _link, token = family_link_create(registration=entry, duration="24h")
    kept, closed = _family_socket_scenario(race, token, clock, lambda: None, 24 * 3600)
    assert kept
    assert closed == {"type": "websocket.close", "code": 4404}

    # The race published meanwhile: anyone may watch it, the link no longer matters.
    link2, token2 = family_link_create(registration=entry, duration="24h")

    def publish_and_revoke() -> None:
        Event.objects.filter(pk=race.event_id).update(status=Event.Status.PUBLISHED)
        FamilyLink.objects.filter(pk=link2.pk).update(revoked_at=timezone.now())

    clock2 = FakeClock(timezone.now().timestamp())
    monkeypatch.setattr(LiveConsumer, "clock", clock2)
    kept, after = _family_socket_scenario(race, token2, clock2, publish_and_revoke, 20.0)
    assert kept
    assert after is None  # not closed


@pytest.mark.parametrize("value", ["²", "٢", "1²", "9" * 30, "-1", " 1", "1.0"])
def test_it_answers_ids_that_are_not_plain_digits_with_a_404(
    client: Any, entry: Registration, value: str
) -> None:
    """'²' passed ``isdigit`` and then failed ``int``: a 500."""
    client.force_login(entry.user)
    form = {"action": "create", "registration": value, "duration": "24h"}
    assert client.post(LINKS, form).status_code == 404
    form = {"action": "create", "registration": value, "duration": "24h"}
    assert client.post(LINKS, form | {"token": entry.tracker.token}).status_code == 404
    revoke = {"action": "revoke", "registration": entry.pk, "link": value}
    assert client.post(LINKS, revoke).status_code == 404


def test_guessing_tokens_is_refused_with_a_429_past_the_limit(
    client: Any, entry: Registration, settings: Any
) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "family.badtoken.ip": "3/m"}
    _link, token = family_link_create(registration=entry, duration="24h")
    for n in range(4):  # the limit counts answers given; past 3 the next is refused
        assert client.get(f"/f/pf_guess{n}/").status_code == 404
    refused = client.get("/f/pf_guess9/")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert client.get(f"/f/{token}/").status_code == 429  # not even looked up
