"""Tracking tokens and device ids are bearer credentials: never stored in clear.

Each is looked up by its SHA-256 and kept sealed (AES-256-GCM) for the athlete's page;
the admin shows a hint only; ``rotate_token_key`` re-seals them; migration 0010 converted
the rows stored in clear."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from pace.lib import sealing
from pace.lib.testing import PASSWORD
from tracking.ingest.athletes import athlete_for_device, athlete_for_token
from tracking.ingest.trackers import (
    entry_for_token,
    tracker_link_device,
    tracker_rotate_token,
    trackers_revoke,
)
from tracking.models import Tracker, secret_digest
from tracking.sim.testrace import load_test_race_create
from tracking.tests.helpers import confirmed_entry
from tracking.tests.migrating import migrate_tracking

K1 = "k1:" + base64.b64encode(b"1" * 32).decode()
K2 = "k2:" + base64.b64encode(b"2" * 32).decode()


def _raw_rows() -> list[dict[str, Any]]:
    """Every tracker row as the database holds it, no model in between."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM tracking_tracker")
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _in_clear(secret: str, rows: list[dict[str, Any]]) -> bool:
    return any(secret in str(value) for row in rows for value in row.values())


@pytest.mark.django_db
def test_no_token_or_device_id_is_in_the_database_and_each_is_found_by_digest():
    athletes = load_test_race_create(athletes=3)["athletes"]
    tracker = Tracker.objects.get(registration_id=athletes[0]["id"])
    tracker_link_device(tracker=tracker, device_id="Pixel8.Anna_~x")
    rows = _raw_rows()
    assert "token" not in rows[0] and "device_id" not in rows[0]
    for athlete in athletes[1:]:
        assert not _in_clear(athlete["token"], rows) and not _in_clear(athlete["device_id"], rows)
        assert athlete_for_token(athlete["token"]).id == athlete["id"]
        assert athlete_for_device(athlete["device_id"]).id == athlete["id"]
        assert entry_for_token(token=athlete["token"]).registration.pk == athlete["id"]
    assert not _in_clear("Pixel8.Anna_~x", rows)
    assert athlete_for_device("Pixel8.Anna_~x").id == athletes[0]["id"]
    row = next(r for r in rows if r["registration_id"] == athletes[1]["id"])
    assert row["token_digest"] == secret_digest(athletes[1]["token"])
    assert row["token_hint"] == athletes[1]["token"][:4]
    # The page's copy opens: the tracker page shows the token and the device id again.
    again = Tracker.objects.get(registration_id=athletes[1]["id"])
    assert (again.token, again.device_id) == (athletes[1]["token"], athletes[1]["device_id"])
    assert athlete_for_token(athletes[1]["token"][:-1]) is None
    assert athlete_for_device(athletes[1]["device_id"].upper() + "x") is None


@pytest.mark.django_db
def test_a_revoked_or_rotated_token_stops_and_a_new_one_works():
    athletes = load_test_race_create(athletes=2)["athletes"]
    first, second = athletes
    trackers_revoke(trackers=Tracker.objects.filter(registration_id=first["id"]))
    assert athlete_for_token(first["token"]) is None
    assert athlete_for_device(first["device_id"]) is None
    assert athlete_for_token(second["token"]).id == second["id"]
    tracker = tracker_rotate_token(tracker=Tracker.objects.get(registration_id=second["id"]))
    assert athlete_for_token(second["token"]) is None
    assert athlete_for_token(tracker.token).id == second["id"]
    assert not _in_clear(tracker.token, _raw_rows())


@pytest.mark.django_db
def test_the_admin_shows_only_hints_and_finds_a_tracker_by_its_whole_device_id(
    client, alice, alpha_event
):
    tracker = Tracker.objects.create(registration=confirmed_entry(alpha_event))
    token, device_id = tracker.token, tracker.device_id
    assert device_id is not None
    client.login(username="alice", password=PASSWORD)
    listing = client.get("/admin/tracking/tracker/").content.decode()
    change = client.get(f"/admin/tracking/tracker/{tracker.pk}/change/").content.decode()
    for page in (listing, change):
        assert token not in page and device_id not in page
    assert f"{device_id[:4]}…" in listing and f"{token[:4]}…" in change
    found = client.get("/admin/tracking/tracker/", {"q": device_id}).content.decode()
    assert "1 tracker" in found
    assert (
        "0 trackers"
        in client.get("/admin/tracking/tracker/", {"q": device_id[:-1]}).content.decode()
    )
    # Saving the form without typing an id keeps the linked one; "unlink" removes it.
    assert client.post(f"/admin/tracking/tracker/{tracker.pk}/change/", {}).status_code == 302
    assert Tracker.objects.get(pk=tracker.pk).device_id == device_id
    url = f"/admin/tracking/tracker/{tracker.pk}/change/"
    assert client.post(url, {"unlink_device": "on"}).status_code == 302
    assert Tracker.objects.get(pk=tracker.pk).device_id is None


@pytest.mark.django_db
def test_rotate_token_key_reseals_tokens_and_device_ids(settings):
    settings.PACE_TOKEN_KEYS = [K1]
    athletes = load_test_race_create(athletes=2)["athletes"]
    tracker_link_device(
        tracker=Tracker.objects.get(registration_id=athletes[1]["id"]), device_id=""
    )
    settings.PACE_TOKEN_KEYS = [K2, K1]
    call_command("rotate_token_key", stdout=None)
    settings.PACE_TOKEN_KEYS = [K2]  # the old key can go now
    for athlete, device_id in ((athletes[0], athletes[0]["device_id"]), (athletes[1], None)):
        tracker = Tracker.objects.get(registration_id=athlete["id"])
        assert sealing.key_id_of(tracker.token_sealed) == "k2"
        assert (tracker.token, tracker.device_id) == (athlete["token"], device_id)
        assert athlete_for_token(athlete["token"]).id == athlete["id"]


@pytest.mark.django_db(transaction=True)
def test_migration_0010_seals_the_rows_stored_in_clear_and_back():
    athletes = load_test_race_create(athletes=2)["athletes"]
    try:
        apps = migrate_tracking("0009_sos_call_client_id")  # the rows opened again, in clear
        clear = {r["registration_id"]: r for r in _raw_rows()}
        for athlete in athletes:
            assert clear[athlete["id"]]["token"] == athlete["token"]
            assert clear[athlete["id"]]["device_id"] == athlete["device_id"]
        old = apps.get_model("tracking", "Tracker").objects
        old.filter(registration_id=athletes[1]["id"]).update(
            token="stored-in-clear-0123456789", device_id=None
        )
    finally:
        migrate_tracking("0010_tracker_secrets_at_rest")
    rows = _raw_rows()
    for secret in (athletes[0]["token"], athletes[0]["device_id"], "stored-in-clear-0123456789"):
        assert not _in_clear(secret, rows)
    assert athlete_for_token(athletes[0]["token"]).id == athletes[0]["id"]
    assert athlete_for_device(athletes[0]["device_id"]).id == athletes[0]["id"]
    assert athlete_for_token("stored-in-clear-0123456789").id == athletes[1]["id"]
    second = Tracker.objects.get(registration_id=athletes[1]["id"])
    assert (second.token, second.device_id, second.device_digest) == (
        "stored-in-clear-0123456789",
        None,
        None,
    )


@pytest.mark.django_db
def test_a_removed_key_leaves_the_tracker_page_up_and_saying_so(settings, client):
    """Trackers sealed under a key removed before ``rotate_token_key`` ran: the page said
    so with a 500. It shows what it can, and how to get new ones; lookups still work."""
    settings.PACE_TOKEN_KEYS = [K1]
    athlete = load_test_race_create(athletes=1)["athletes"][0]
    settings.PACE_TOKEN_KEYS = [K2]  # K1 dropped without re-sealing
    page = client.get("/track/", {"token": athlete["token"]})
    assert page.status_code == 200
    html = page.content.decode()
    assert athlete["token"] in html  # a token link's holder: the one in the address
    assert "Your device identifier cannot be shown here" in html
    assert athlete["device_id"] not in html
    assert athlete_for_token(athlete["token"]).id == athlete["id"]  # still tracks
    assert athlete_for_device(athlete["device_id"]) is not None
    # A new identifier shows again.
    client.post(
        "/track/", {"action": "issue", "registration": athlete["id"], "token": athlete["token"]}
    )
    html = client.get("/track/", {"token": athlete["token"]}).content.decode()
    assert "cannot be shown" not in html
    assert Tracker.objects.get(registration_id=athlete["id"]).device_id in html


@pytest.mark.django_db
def test_a_signed_in_athlete_whose_token_cannot_be_opened_is_told_and_not_tracked(
    settings, client, dave
):
    from events.models import Registration

    settings.PACE_TOKEN_KEYS = [K1]
    athlete = load_test_race_create(athletes=1)["athletes"][0]
    Registration.objects.filter(pk=athlete["id"]).update(user=dave)
    settings.PACE_TOKEN_KEYS = [K2]
    client.force_login(dave)
    page = client.get("/track/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Your tracking token and device identifier cannot be shown here" in html
    assert "data-token" not in html  # the page's tracker does not start without one
    assert athlete["token"] not in html
