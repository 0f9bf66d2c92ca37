"""PROTOCOL.md §2: OsmAnd and Traccar Client, in the three shapes they send."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest

from tracking.models import Position, Tracker
from tracking.testrace import load_test_race_create

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def device(client) -> str:
    return load_test_race_create(athletes=2)["athletes"][0]["device_id"]


def test_it_stores_a_query_string_point_with_speed_in_knots(client, device):
    now = int(time.time())
    response = client.get(
        "/osmand/",
        {"id": device, "lat": 45.9, "lon": 6.13, "timestamp": now, "speed": 10,
         "altitude": 450, "accuracy": 5, "batt": 80},
    )  # fmt: skip
    assert response.status_code == 200
    stored = Position.objects.get()
    assert stored.spd == pytest.approx(5.14444)
    assert (stored.lat, stored.lon, stored.alt, stored.acc, stored.bat) == (45.9, 6.13, 450, 5, 80)
    assert stored.t.timestamp() == now and stored.seq == 0


def test_it_stores_a_form_post_with_an_iso_timestamp(client, device):
    stamp = dt.datetime.now(dt.UTC).replace(microsecond=0)
    response = client.post(
        "/osmand/", {"id": device, "lat": "45.91", "lon": "6.12", "timestamp": stamp.isoformat()}
    )
    assert response.status_code == 200
    assert Position.objects.get().t == stamp


def test_it_stores_traccar_clients_json_with_speed_in_metres_per_second(client, device):
    body = {
        "device_id": device,
        "location": {
            "timestamp": dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
            "coords": {"latitude": 45.9, "longitude": 6.13, "accuracy": 8, "speed": 3.2,
                       "heading": 90, "altitude": 440},
            "battery": {"level": 0.55, "is_charging": False},
            "is_moving": True,
            "odometer": 1200,
        },
    }  # fmt: skip
    response = client.post("/osmand/", json.dumps(body), content_type="application/json")
    assert response.status_code == 200
    stored = Position.objects.get()
    assert (stored.spd, stored.bat, stored.acc) == (3.2, 55.0, 8)


def test_it_stores_a_retried_point_once(client, device):
    params = {"id": device, "lat": 45.9, "lon": 6.13, "timestamp": int(time.time())}
    assert client.get("/osmand/", params).status_code == 200
    assert client.get("/osmand/", params).status_code == 200
    assert Position.objects.count() == 1


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"lat": 45.9, "lon": 6.13}, "timestamp is missing"),
        ({"lat": "north", "lon": 6.13, "timestamp": "T"}, "lat is not a number"),
        ({"lat": 95, "lon": 6.13, "timestamp": "T"}, "lat must be within"),
        ({"lat": 45.9, "timestamp": "T"}, "lon is missing"),
        ({"lat": "nan", "lon": 6.13, "timestamp": "T"}, "lat must be finite"),
        ({"lat": 45.9, "lon": 6.13, "timestamp": "yesterday"}, "neither epoch seconds nor ISO"),
        ({"lat": 45.9, "lon": 6.13, "timestamp": "FUTURE"}, "t must be within"),
    ],
)
def test_it_answers_a_malformed_point_with_400_and_a_reason(client, device, params, reason):
    now = int(time.time())
    params = {"id": device, **params}
    stamp = params.get("timestamp")
    params["timestamp"] = {"T": now, "FUTURE": now + 3600}.get(stamp, stamp)
    response = client.get("/osmand/", {k: v for k, v in params.items() if v is not None})
    assert response.status_code == 400
    assert reason in response.content.decode()
    assert Position.objects.count() == 0


def test_it_answers_bad_json_with_400(client, device):
    for body in ("{nope", "[1]", json.dumps({"device_id": device})):
        response = client.post("/osmand/", body, content_type="application/json")
        assert response.status_code == 400


def test_it_answers_an_unknown_or_revoked_device_with_404(client, device):
    params = {"lat": 45.9, "lon": 6.13, "timestamp": int(time.time())}
    assert client.get("/osmand/", {"id": "who-knows", **params}).status_code == 404
    assert client.get("/osmand/", params).status_code == 400  # no id at all
    other = Tracker.objects.exclude(device_id=device).get()
    other.revoked_at = dt.datetime.now(dt.UTC)
    other.save()
    assert client.get("/osmand/", {"id": other.device_id, **params}).status_code == 404
    assert client.put("/osmand/").status_code == 405
