"""A race's replay: built from stored positions in a fixed number of queries, cached,
served gzipped with an ETag, and only to who may watch the race."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from events.models import Event, Race
from events.tests.factories import ROLES, make_organizer
from tracking.familylinks import family_link_create, family_link_revoke
from tracking.models import Position
from tracking.sim.pastrace import past_race_positions_create
from tracking.sim.testrace import load_test_race_create
from tracking.web.replaydata import (
    REBUILD_SECONDS,
    positions_stamp,
    race_replay,
    replay_document,
)
from tracking.web.trackcodec import decode_track

pytestmark = pytest.mark.django_db


def past_race(athletes: int, *, hours_ago: float = 30) -> Race:
    """A finished race of ``athletes`` whose positions are stored."""
    data = load_test_race_create(athletes=athletes)
    race = Race.objects.select_related("event", "course").get(pk=data["race_id"])
    race.start_time = timezone.now() - dt.timedelta(hours=hours_ago)
    race.time_limit = dt.timedelta(hours=2)
    race.save()
    past_race_positions_create(race=race, every=10)
    return race


def data_url(race: Race, **query: str) -> str:
    url = f"/live/{race.event.slug}/{race.slug}/replay/data/"
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def test_it_samples_every_athlete_along_the_course() -> None:
    race = past_race(6)
    stored = Position.objects.filter(race=race).order_by("registration_id", "t")
    doc = replay_document(race=race, stamp=positions_stamp(race_id=race.pk))
    assert doc["step"] == 5 and len(doc["athletes"]) == 6 and len(doc["tracks"]) == 6
    for row in doc["tracks"]:
        track = decode_track(row)
        fixes = [p for p in stored if p.registration_id == track.athlete]
        # From their first fix to their last: ran the whole course, never backwards.
        assert track.distances == sorted(track.distances)
        assert track.distances[-1] == pytest.approx(10_000, abs=60)
        last = fixes[-1]
        assert abs(track.lats[-1] - last.lat) < 0.0003 and abs(track.lons[-1] - last.lon) < 0.0003
        finish = (track.first + len(track.distances)) * doc["step"]
        assert abs(doc["t0"] + finish - last.t.timestamp()) < 2 * doc["step"]


def test_it_builds_in_the_same_few_queries_whatever_the_field() -> None:
    counts = []
    for athletes in (3, 12):
        race = past_race(athletes)
        with CaptureQueriesContext(connection) as queries:
            replay_document(race=race, stamp=positions_stamp(race_id=race.pk))
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 6


def test_it_serves_gzipped_json_with_an_etag_and_answers_304(client: Any) -> None:
    race = past_race(4)
    response = client.get(data_url(race), HTTP_ACCEPT_ENCODING="gzip, br")
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip" and "public" in response["Cache-Control"]
    doc = json.loads(gzip.decompress(response.content))
    assert len(doc["tracks"]) == 4
    etag = response["ETag"]
    again = client.get(data_url(race), HTTP_IF_NONE_MATCH=etag, HTTP_ACCEPT_ENCODING="gzip")
    assert again.status_code == 304 and again.content == b""
    plain = client.get(data_url(race))
    assert "Content-Encoding" not in plain and json.loads(plain.content) == doc
    # The bytes evicted from the cache (but not what they are): built again.
    cache.delete(f"replay:{race.pk}:blob")
    rebuilt = client.get(data_url(race), HTTP_ACCEPT_ENCODING="gzip")
    assert rebuilt["ETag"] == etag and json.loads(gzip.decompress(rebuilt.content)) == doc


def test_it_rebuilds_once_the_race_has_new_positions() -> None:
    race = past_race(3, hours_ago=1)  # tracking still open: the race runs
    first = race_replay(race=race)
    assert race_replay(race=race) is first or race_replay(race=race).etag == first.etag
    latest = Position.objects.filter(race=race).order_by("-id").first()
    assert latest is not None
    Position.objects.create(
        race=race, registration_id=latest.registration_id, seq=99_999, t=latest.t,
        lat=latest.lat, lon=latest.lon, received_at=timezone.now(),
    )  # fmt: skip
    cache.delete(f"replay:{race.pk}:stamp")  # as it expires after a few seconds
    now = timezone.now().timestamp()
    # Within REBUILD_SECONDS of a build the running race gets that build...
    assert race_replay(race=race, now=now).etag == first.etag
    # ...and a new one after.
    cache.delete(f"replay:{race.pk}:stamp")
    rebuilt = race_replay(race=race, now=now + REBUILD_SECONDS + 1)
    assert rebuilt.etag != first.etag


def test_it_replays_a_draft_only_to_its_organizer_or_a_family_link(
    client: Any, alice: Any, charlie: Any, bob: Any
) -> None:
    race = past_race(3)
    Event.objects.filter(pk=race.event_id).update(status=Event.Status.DRAFT)
    page = f"/live/{race.event.slug}/{race.slug}/replay/"
    assert client.get(page).status_code == 404
    assert client.get(data_url(race)).status_code == 404
    # Another organizer's owner sees nothing of it either.
    make_organizer("Bravo Events", members={charlie: ROLES.OWNER})
    client.force_login(charlie)
    assert client.get(data_url(race)).status_code == 404
    client.logout()
    race.event.organizer.memberships.create(user=bob, role=ROLES.STAFF)
    client.force_login(bob)
    ok = client.get(data_url(race))
    assert ok.status_code == 200 and "private" in ok["Cache-Control"]
    client.logout()
    registration = race.registrations.first()
    assert registration is not None
    link, token = family_link_create(registration=registration, duration="24h")
    assert client.get(page, {"family": token}).status_code == 200
    assert client.get(data_url(race, family=token)).status_code == 200
    family_link_revoke(link=link)
    assert client.get(data_url(race, family=token)).status_code == 404


def test_it_renders_the_replay_page_with_its_data_address(client: Any) -> None:
    race = past_race(2)
    response = client.get(f"/live/{race.event.slug}/{race.slug}/replay/")
    assert response.status_code == 200
    config = response.context["config"]
    assert config["data"] == data_url(race)
    assert b'id="replay-time"' in response.content and b"<table" in response.content


def test_it_links_the_replay_from_the_event_page_once_the_race_is_over(client: Any) -> None:
    race = past_race(2, hours_ago=1)  # still running: the live page's link, no replay yet
    replay = f"/live/{race.event.slug}/{race.slug}/replay/"
    assert replay.encode() not in client.get(race.event.get_absolute_url()).content
    race.start_time = timezone.now() - dt.timedelta(days=2)
    race.save()
    page = client.get(race.event.get_absolute_url())
    assert replay.encode() in page.content and b"Replay" in page.content
    Position.objects.filter(race=race).delete()  # nobody tracked: nothing to replay
    from pace.lib.pagecache import bump_public_version

    bump_public_version()
    assert replay.encode() not in client.get(race.event.get_absolute_url()).content


# --- a big race: built off the request -----------------------------------------------------
def _big(monkeypatch: Any, settings: Any) -> None:
    """Races above 2 athletes count as big here (5,000 in production would take minutes
    to seed); the embedded default's build thread, whatever the test's broker."""
    from tracking.web import replaydata

    monkeypatch.setattr(replaydata, "SYNC_MAX_ATHLETES", 2)
    settings.CELERY_TASK_ALWAYS_EAGER = True


@pytest.mark.django_db(transaction=True)
def test_a_big_races_replay_is_prepared_off_the_request_and_the_page_polls(
    client: Any, monkeypatch: Any, settings: Any
) -> None:
    from pace.lib.testing import eventually

    _big(monkeypatch, settings)
    race = past_race(6)
    first = client.get(data_url(race), HTTP_ACCEPT_ENCODING="gzip")
    assert first.status_code == 202 and first["Retry-After"] == "2"
    assert first.json()["status"] == "preparing" and "no-store" in first["Cache-Control"]

    def ready() -> Any:
        got = client.get(data_url(race), HTTP_ACCEPT_ENCODING="gzip")
        assert got.status_code == 200, got.status_code  # the page polls as long
        return got

    served = eventually(ready, timeout=60)
    assert len(json.loads(gzip.decompress(served.content))["tracks"]) == 6
    # Late uploads: the stored build is served at once while a new one is made.
    latest = Position.objects.filter(race=race).order_by("-id").first()
    assert latest is not None
    Position.objects.create(
        race=race, registration_id=latest.registration_id, seq=99_999, t=latest.t,
        lat=latest.lat, lon=latest.lon, received_at=timezone.now(),
    )  # fmt: skip
    cache.delete(f"replay:{race.pk}:stamp")  # as it expires
    again = client.get(data_url(race), HTTP_ACCEPT_ENCODING="gzip")
    assert again.status_code == 200 and again["ETag"] == served["ETag"]

    def rebuilt() -> None:
        assert ready()["ETag"] != served["ETag"]

    eventually(rebuilt, timeout=60)


@pytest.mark.django_db(transaction=True)
def test_the_task_builds_a_replay_when_tracking_closes_and_after_late_uploads(
    client: Any, monkeypatch: Any, settings: Any
) -> None:
    from tracking.web.replaydata import replays_prebuild

    _big(monkeypatch, settings)
    closed = past_race(6)
    # An hour after its start it was running: nothing to build yet.
    assert replays_prebuild(now=closed.start_time.timestamp() + 3600) == []
    assert replays_prebuild() == [closed.pk]  # closed since
    assert replays_prebuild() == []  # current: nothing to do
    with CaptureQueriesContext(connection) as queries:
        served = client.get(data_url(closed), HTTP_ACCEPT_ENCODING="gzip")
    assert served.status_code == 200  # no wait: it was built before anyone asked
    assert not any("GROUP BY" in q["sql"] for q in queries.captured_queries)
    latest = Position.objects.filter(race=closed).order_by("-id").first()
    assert latest is not None
    Position.objects.create(
        race=closed, registration_id=latest.registration_id, seq=99_999, t=latest.t,
        lat=latest.lat, lon=latest.lon, received_at=timezone.now(),
    )  # fmt: skip
    cache.delete(f"replay:{closed.pk}:stamp")  # as it expires
    assert replays_prebuild() == [closed.pk]
    rebuilt = client.get(data_url(closed), HTTP_ACCEPT_ENCODING="gzip")
    assert rebuilt.status_code == 200 and rebuilt["ETag"] != served["ETag"]
