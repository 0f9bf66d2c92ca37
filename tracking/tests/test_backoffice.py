"""Posts and trackers in the admin are scoped per organizer; hiding a post hides it live;
old fixes are thinned."""

from __future__ import annotations

import datetime as dt

import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone

from pace.lib.testing import PASSWORD
from tracking.fanout.posts import posts_set_hidden
from tracking.ingest import devices
from tracking.live.livestore import live_store
from tracking.models import Position, Post, Tracker
from tracking.retention import positions_thin
from tracking.tests.helpers import confirmed_entry

pytestmark = pytest.mark.django_db


@pytest.fixture
def posts(alpha_event, bravo_event):
    mine, theirs = confirmed_entry(alpha_event), confirmed_entry(bravo_event)
    Tracker.objects.create(registration=mine)
    Tracker.objects.create(registration=theirs)
    return (
        Post.objects.create(race=mine.race, registration=mine, text="Alpha post"),
        Post.objects.create(race=theirs.race, registration=theirs, text="Bravo post"),
    )


def test_it_shows_an_organizer_only_its_own_posts_and_trackers(client, alice, posts):
    client.login(username="alice", password=PASSWORD)
    listing = client.get("/admin/tracking/post/").content.decode()
    assert "Alpha post" in listing and "Bravo post" not in listing
    assert client.get(f"/admin/tracking/post/{posts[1].pk}/change/").status_code in (302, 404)
    trackers = client.get("/admin/tracking/tracker/").content.decode()
    assert "1 tracker" in trackers and "Bravo" not in trackers
    client.post(
        "/admin/tracking/post/",
        {"action": "hide", "_selected_action": [posts[0].pk, posts[1].pk]},
    )
    assert list(Post.objects.filter(hidden=True)) == [posts[0]]


def test_it_drops_a_hidden_post_from_new_snapshots(posts):
    race_id = posts[0].race_id
    posts_set_hidden(posts=Post.objects.filter(pk=posts[0].pk), hidden=False)
    shown = async_to_sync(live_store().full_state)(race_id)
    posts_set_hidden(posts=Post.objects.filter(pk=posts[0].pk), hidden=True)
    hidden = async_to_sync(live_store().full_state)(race_id)
    assert len(shown.posts) == 1
    assert hidden.posts == []


def test_it_thins_old_fixes_to_one_per_interval_and_keeps_recent_ones(posts):
    registration = posts[0].registration
    now = timezone.now()
    # Four whole 30-second buckets, forty days ago.
    old = dt.datetime.fromtimestamp((int(now.timestamp()) - 40 * 86400) // 30 * 30, tz=dt.UTC)
    rows = [
        Position(
            race_id=registration.race_id,
            registration=registration,
            seq=1,
            t=at,
            lat=45,
            lon=6,
            received_at=at,
        )
        for at in [old + dt.timedelta(seconds=s) for s in range(120)]
        + [now - dt.timedelta(seconds=s) for s in range(10)]
    ]
    Position.objects.bulk_create(rows)
    assert positions_thin(older_than_days=30, every_seconds=30, now=now) == 116
    assert positions_thin(older_than_days=30, every_seconds=30, now=now) == 0
    assert Position.objects.count() == 14


def test_it_lets_an_organizer_revoke_only_its_own_trackers(client, alice, posts):
    client.login(username="alice", password=PASSWORD)
    ids = list(Tracker.objects.values_list("pk", flat=True))
    client.post("/admin/tracking/tracker/", {"action": "revoke", "_selected_action": ids})
    revoked = Tracker.objects.filter(revoked_at__isnull=False)
    assert [t.registration.race.event.organizer.name for t in revoked] == ["Alpha Races"]


def test_it_refuses_a_guessable_device_id_typed_in_the_admin(client, alice, posts):
    client.login(username="alice", password=PASSWORD)
    tracker = Tracker.objects.get(registration=posts[0].registration)
    issued = tracker.device_id
    url = f"/admin/tracking/tracker/{tracker.pk}/change/"
    response = client.post(url, {"device_id": "lt-12-7"})
    assert response.status_code == 200 and "at least 8 characters" in response.content.decode()
    response = client.post(url, {"device_id": "12345678"})
    assert "digits only needs at least 12" in response.content.decode()
    tracker.refresh_from_db()
    assert tracker.device_id == issued
    assert client.post(url, {"device_id": "Pixel8.Anna_~x"}).status_code == 302
    tracker.refresh_from_db()
    assert tracker.device_id == "Pixel8.Anna_~x"


def test_it_stops_a_device_id_typed_over_in_the_admin_at_once(
    client, alice, posts, django_capture_on_commit_callbacks
):
    client.login(username="alice", password=PASSWORD)
    tracker = Tracker.objects.get(registration=posts[0].registration)
    issued = tracker.device_id
    assert issued is not None
    assert devices.athlete_for_device_cached(issued) is not None  # remembered for 30 s
    url = f"/admin/tracking/tracker/{tracker.pk}/change/"
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url, {"device_id": "Pixel8.Anna_~x"}).status_code == 302
    assert devices.athlete_for_device_cached(issued) is None
