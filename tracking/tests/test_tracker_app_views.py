"""The tracker page as an app: its service worker, manifest, QR codes and first-fix check."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from tracking.ingest.athletes import device_key
from tracking.models import Position, Tracker
from tracking.tests.test_pages import TRACK
from tracking.tests.test_pages import entry as entry  # the fixtures
from tracking.tests.test_pages import race as race

pytestmark = pytest.mark.django_db


def test_the_service_worker_is_scoped_to_the_tracker_and_lists_its_assets(client):
    response = client.get(f"{TRACK}sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == TRACK
    assert response["Cache-Control"] == "no-cache"
    body = response.content.decode()
    assert '"/static/tracking/track.js"' in body and 'var SCOPE = "/track/"' in body


def test_the_manifest_starts_on_the_page_of_its_token(client):
    data = json.loads(client.get(f"{TRACK}manifest.webmanifest", {"token": "Ab_c-123"}).content)
    assert data["start_url"] == f"{TRACK}?token=Ab_c-123" and data["scope"] == TRACK
    assert {i["sizes"] for i in data["icons"]} == {"192x192", "512x512"}
    assert any(i.get("purpose") == "maskable" for i in data["icons"])
    odd = json.loads(client.get(f"{TRACK}manifest.webmanifest", {"token": 'a"b<c'}).content)
    assert odd["start_url"] == TRACK


def test_the_page_links_the_manifest_and_shows_qr_codes(client, entry):
    tracker = Tracker.objects.create(registration=entry)
    html = client.get(TRACK, {"token": tracker.token}).content.decode()
    assert f'href="{TRACK}manifest.webmanifest?token={tracker.token}"' in html
    assert html.count('<svg viewBox="') == 2  # server URL and device id
    assert 'data-sw="/track/sw.js"' in html
    assert "Waiting for the first position from your app" in html


def test_the_device_check_says_when_the_apps_first_fix_arrived(client, entry):
    tracker = Tracker.objects.create(registration=entry)
    assert tracker.device_id is not None
    url = f"{TRACK}device/"
    assert client.get(url, {"token": tracker.token}).json() == {
        "device_id": tracker.device_id, "first": None, "last": None, "fixes": 0,
    }  # fmt: skip
    now = timezone.now()
    for seconds, seq, device in [(30, 0, tracker.device_id), (10, 0, tracker.device_id),
                                 (5, 3, "phone")]:  # fmt: skip
        Position.objects.create(
            race_id=entry.race_id, registration=entry, seq=seq, lat=45.0, lon=6.0,
            t=now - dt.timedelta(seconds=seconds), received_at=now - dt.timedelta(seconds=seconds),
            device_key=device_key(device),
        )  # fmt: skip
    status = client.get(url, {"token": tracker.token}).json()
    assert status["fixes"] == 2  # the phone's own tracker is not the app
    assert status["first"] == pytest.approx((now - dt.timedelta(seconds=30)).timestamp())
    assert client.get(url, {"token": "nope"}).status_code == 404
    assert client.get(url, {"token": "a\x00b"}).status_code == 404
    assert client.get(url).status_code == 404


def test_the_device_check_is_limited_per_ip(client, entry, settings):
    from pace.lib.testing import cache_clear_own

    cache_clear_own()
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "tracker.device.ip": "2/m"}
    tracker = Tracker.objects.create(registration=entry)
    codes = [client.get(f"{TRACK}device/", {"token": tracker.token}).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
