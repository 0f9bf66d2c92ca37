"""PROTOCOL.md §2: OsmAnd and Traccar Client, in the shapes they really send.

The real requests below are Traccar's own test vectors (its server's
``OsmAndProtocolDecoderTest``) and the request the Android Traccar Client builds
(``ProtocolFormatter``: a POST with the fields in the query string and no body);
the device id is swapped for one Pace issued, and the clock is moved to just after
each vector's time (time-machine), with the race starting then.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import pytest
import time_machine

from tracking.ingest import devices
from tracking.ingest.trackers import clean_device_id
from tracking.models import Position, Tracker, secret_digest
from tracking.sim.testrace import load_test_race_create

pytestmark = pytest.mark.django_db(transaction=True)
UNKNOWN = "AbSent-0123456789xyz"


@pytest.fixture
def device(client) -> str:
    return load_test_race_create(athletes=2)["athletes"][0]["device_id"]


def _answer(response: Any) -> tuple[int, str]:
    return response.status_code, response.content.decode()


def test_it_issues_device_ids_nobody_can_guess(client):
    race = load_test_race_create(athletes=30)
    ids = [a["device_id"] for a in race["athletes"]]
    assert len(set(ids)) == 30
    for athlete, device_id in zip(race["athletes"], ids, strict=True):
        assert len(device_id) >= 16 and clean_device_id(device_id) == device_id
        assert str(race["race_id"]) not in device_id.split("-")
        assert athlete["bib"] not in device_id.split("-")


def test_it_stores_a_query_string_point_with_speed_in_knots(client, device):
    now = int(time.time())
    response = client.get(
        "/osmand/",
        {"id": device, "lat": 45.9, "lon": 6.13, "timestamp": now, "speed": 10,
         "altitude": 450, "accuracy": 5, "batt": 80},
    )  # fmt: skip
    assert _answer(response) == (200, "OK\n")
    stored = Position.objects.get()
    assert stored.spd == pytest.approx(5.14444)
    assert (stored.lat, stored.lon, stored.alt, stored.acc, stored.bat) == (45.9, 6.13, 450, 5, 80)
    assert stored.t.timestamp() == now and stored.seq == 0


def test_it_stores_a_form_post_with_an_iso_timestamp(client, device):
    stamp = dt.datetime.now(dt.UTC).replace(microsecond=0)
    data = {"id": device, "lat": "45.91", "lon": "6.12", "timestamp": stamp.isoformat()}
    assert client.post("/osmand/", data).status_code == 200  # multipart
    assert Position.objects.get().t == stamp
    body = f"id={device}&lat=45.92&lon=6.12&timestamp={int(stamp.timestamp()) - 5}"
    for content_type in ("application/x-www-form-urlencoded", "text/plain", ""):
        response = client.post("/osmand/", body, content_type=content_type)
        assert response.status_code == 200, content_type
    assert Position.objects.count() == 2  # the same fix three times, stored once


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


def _utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


# (method, query, JSON body or None, the fix's time (None: arrival), what is stored)
REAL: dict[str, tuple[str, str, Any, str | None, dict[str, Any]]] = {
    "osmand iso": ("GET", "id=DEVICE&lat=42.06288&lon=-88.23412&timestamp=2016-01-27T18%3A55%3A47Z"
                   "&hdop=6.0&altitude=224.0&speed=0.0", None, "2016-01-27 18:55:47",
                   {"lat": 42.06288, "lon": -88.23412, "alt": 224.0, "spd": 0.0}),
    "osmand ms": ("GET", "id=DEVICE&lat=42.06288&lon=-88.23412&timestamp=1442068686579&hdop=6.0"
                  "&altitude=224.0&speed=0.0", None, "2015-09-12 14:38:06.579", {"alt": 224.0}),
    "osmand spaced": ("GET", "lat=49.60688&lon=6.15788&timestamp=2014-06-04+09%3A10%3A11"
                      "&altitude=384.7&speed=0.0&id=DEVICE", None, "2014-06-04 09:10:11",
                      {"lat": 49.60688, "lon": 6.15788, "alt": 384.7}),
    "osmand full": ("GET", "id=DEVICE&timestamp=1377177267&lat=60.0&lon=30.0&speed=0.0"
                    "&bearing=0.0&altitude=0&hdop=0.0", None, "2013-08-22 13:14:27",
                    {"lat": 60.0, "lon": 30.0}),
    "osmand least": ("GET", "id=DEVICE&timestamp=1377177267&lat=60.0&lon=30.0", None,
                     "2013-08-22 13:14:27", {"lat": 60.0, "alt": None, "spd": None}),
    "no time, deviceid": ("GET", "lat=60.0&lon=30.0&speed=0.0&heading=0.0&vacc=0&hacc=0"
                          "&altitude=0&deviceid=DEVICE", None, None, {"lat": 60.0}),
    "no time, batt": ("GET", "id=DEVICE&lat=41.666667&lon=-0.883333&altitude=350.059479"
                      "&speed=0.000000&batt=87", None, None, {"bat": 87.0, "lon": -0.883333}),
    "location=": ("GET", "id=DEVICE&timestamp=1377177267&location=60.0,30.0", None,
                  "2013-08-22 13:14:27", {"lat": 60.0, "lon": 30.0}),
    "vehicle extras": ("GET", "id=DEVICE&timestamp=1504763810&lat=40.7232948571"
                       "&lon=-74.0061408571&bearing=7.19889788244&speed=40&ignition=true"
                       "&rpm=933&fuel=24", None, "2017-09-07 05:56:50",
                       {"spd": pytest.approx(40 * 0.514444)}),
    "traccar client android": ("POST", "id=DEVICE&timestamp=1700000000&lat=45.9&lon=6.13"
                               "&speed=1.5&bearing=212.0&altitude=438.0&accuracy=4.0"
                               "&batt=87.0", None, "2023-11-14 22:13:20",
                               {"acc": 4.0, "bat": 87.0, "alt": 438.0}),
    "traccar client json": ("POST", "", {"location": {"timestamp": "2025-06-15T13:45:12.862Z",
        "coords": {"latitude": 37.4219983, "longitude": -122.084, "accuracy": 5, "speed": 0,
        "heading": -1, "altitude": 5}, "is_moving": False, "odometer": 0,
        "event": "motionchange", "battery": {"level": 1, "is_charging": False},
        "activity": {"type": "still"}, "extras": {},
        "_": "&id=48241179&lat=37.4219983&lon=-122.084&timestamp=2025-06-15T13:45:12.862Z&"},
        "device_id": "DEVICE"}, "2025-06-15 13:45:12.862", {"bat": 100.0, "spd": 0.0}),
    "traccar client json, unknowns": ("POST", "", {"location": {"extras": {}, "mock": True,
        "coords": {"speed_accuracy": -1, "speed": -1, "longitude": -122.406417,
        "ellipsoidal_altitude": 0, "floor": None, "heading_accuracy": -1,
        "latitude": 37.785834000000001, "accuracy": 5, "altitude_accuracy": -1, "altitude": 0,
        "heading": -1}, "is_moving": False, "age": 188, "odometer": 0,
        "uuid": "2FB04C65-99CF-42AB-8DD3-EBCB4B108BF8", "event": "motionchange",
        "battery": {"level": -1, "is_charging": False},
        "activity": {"type": "unknown", "confidence": 100},
        "timestamp": "2025-05-09T04:11:30.579Z"}, "device_id": "DEVICE"},
        "2025-05-09 04:11:30.579", {"spd": None, "bat": None, "lat": 37.785834}),
    "traccar client json, moving": ("POST", "", {"location": {"event": "motionchange",
        "is_moving": False, "uuid": "0e9a2473-a9a7-4c00-997b-fb97d2154e75",
        "timestamp": "2021-07-21T08:06:34.444Z", "odometer": 0, "coords": {
        "latitude": -6.1148096, "longitude": 106.6837015, "accuracy": 3.8, "speed": 18.67,
        "speed_accuracy": 0.26, "heading": 63, "heading_accuracy": 0.28, "altitude": 35.7,
        "altitude_accuracy": 3.8}, "activity": {"type": "still", "confidence": 100},
        "battery": {"is_charging": False, "level": 0.79}, "extras": {}},
        "device_id": "DEVICE"}, "2021-07-21 08:06:34.444", {"spd": 18.67, "bat": 79.0}),
}  # fmt: skip


@pytest.mark.parametrize("name", list(REAL))
def test_it_stores_the_requests_real_apps_send(client, name):
    method, query, body, when, stored = REAL[name]
    arrival = _utc(when or "2025-06-15 14:00:00") + dt.timedelta(seconds=60)
    with time_machine.travel(arrival, tick=False):
        device = load_test_race_create(athletes=1)["athletes"][0]["device_id"]
        url = "/osmand/?" + query.replace("DEVICE", device)
        if body is None:
            response = client.generic(method, url)
        else:
            data = json.dumps(body).replace('"DEVICE"', json.dumps(device))
            response = client.post(url, data, content_type="application/json")
    assert _answer(response) == (200, "OK\n")
    fix = Position.objects.get()
    assert fix.t == (_utc(when) if when else arrival)
    assert {key: getattr(fix, key) for key in stored} == stored


def test_it_takes_the_time_of_arrival_for_a_fix_without_one(client, device):
    arrival = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(minutes=3)
    with time_machine.travel(arrival, tick=False):
        response = client.get("/osmand/", {"id": device, "location": "45.9,6.13"})
    assert response.status_code == 200
    assert (Position.objects.get().t, Position.objects.get().lat) == (arrival, 45.9)


def test_it_acknowledges_but_keeps_no_fix_from_before_tracking_opens(client, device):
    """Traccar Client resends a refused fix every 30 s and sends nothing newer meanwhile:
    a stale fix left in its buffer must not hold back the race's."""
    long_ago = int(time.time()) - 86_400
    response = client.get(
        "/osmand/", {"id": device, "lat": 45.9, "lon": 6.1, "timestamp": long_ago}
    )
    assert _answer(response) == (200, "OK: not stored, before the race's tracking opens\n")
    assert not Position.objects.exists()


BAD_POINTS = [
    ({"lat": "north", "lon": 6.13}, "lat is not a number"),
    ({"lat": 95, "lon": 6.13}, "lat must be within"),
    ({"lat": 45.9, "lon": -181}, "lon must be within"),
    ({"lat": 45.9}, "lon is missing"),
    ({"location": "45.9"}, "location must be LAT,LON"),
    ({"lat": "nan", "lon": 6.13}, "lat must be finite"),
    ({"lat": "1e400", "lon": 6.13}, "lat must be finite"),
    ({"lat": 45.9, "lon": 6.13, "timestamp": "yesterday"}, "neither epoch seconds nor ISO"),
    ({"lat": 45.9, "lon": 6.13, "timestamp": "FUTURE"}, "more than 5 minutes ahead"),
    ({"lat": 45.9, "lon": 6.13, "timestamp": "9999999999999999"}, "more than 5 minutes ahead"),
    ({"lat": 45.9, "lon": 6.13, "timestamp": "86400"}, "before 2000"),
    ({"lat": 45.9, "lon": 6.13, "timestamp": "1970-01-01T00:00:00Z"}, "before 2000"),
    ({"lat": 45.9, "lon": 6.13, "speed": "1e9"}, "spd must be within"),
    ({"lat": 45.9, "lon": 6.13, "bearing": "inf"}, "bearing must be finite"),
    ({"lat": 45.9, "lon": 6.13, "bearing": "361"}, "bearing must be within [0, 360]"),
    ({"lat": 45.9, "lon": 6.13, "hdop": "-2"}, "hdop must not be negative"),
    ({"lat": 45.9, "lon": 6.13, "altitude": "-99999"}, "alt must be within"),
    ({"lat": 45.9, "lon": 6.13, "accuracy": "-3"}, "acc must be within"),
    ({"lat": 45.9, "lon": 6.13, "batt": "250"}, "bat must be within"),
    ({"lat": 45.9, "lon": 6.13, "hr": "900"}, "hr must be within"),
]


@pytest.mark.parametrize(("params", "reason"), BAD_POINTS)
def test_it_answers_a_bad_point_alike_whether_its_device_exists_or_not(
    client, device, params, reason
):
    stamp = params.get("timestamp")
    params = {**params, "timestamp": {"FUTURE": int(time.time()) + 3600}.get(stamp, stamp)}
    params = {k: v for k, v in params.items() if v is not None}
    answers = {_answer(client.get("/osmand/", {"id": d, **params})) for d in (device, UNKNOWN)}
    assert len(answers) == 1
    status, body = answers.pop()
    assert status == 400 and reason in body
    assert Position.objects.count() == 0


def test_it_answers_every_unknown_device_alike(client, device):
    other = Tracker.objects.exclude(device_digest=secret_digest(device)).get()
    other.revoked_at = dt.datetime.now(dt.UTC)
    other.save()
    params = {"lat": 45.9, "lon": 6.13, "timestamp": int(time.time())}
    answers = {
        _answer(client.get("/osmand/", {"id": device_id, **params}))
        for device_id in (UNKNOWN, other.device_id, device[:-1], device.upper() + "x")
    }
    assert answers == {(404, "unknown device\n")}
    assert _answer(client.get("/osmand/", params)) == (400, "bad location: id is missing\n")
    assert client.put("/osmand/").status_code == 405


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (
            '{"device_id": "D", "location": {"coords": {"latitude": 1e400, "longitude": 6}}}',
            "application/json",
            "latitude must be finite",
        ),
        (
            '{"device_id": "D", "location": {"coords": {"latitude": 1%s, "longitude": 6}}}'
            % ("0" * 400),
            "application/json",
            "latitude is not a number",
        ),
        (
            '{"device_id": "D", "location": {"timestamp": 1%s, "coords": {"latitude": 45, '
            '"longitude": 6}}}' % ("0" * 400),
            "application/json",
            "timestamp is not a number",
        ),
        (
            '{"device_id": "D", "location": {"coords": {"latitude": 45, "longitude": 6}, '
            '"battery": {"level": 1%s}}}' % ("0" * 5000),
            "application/json",
            "not JSON",
        ),
        ('{"device_id": "D\\u0000", "location": {}}', "application/json", "printable"),
        ('{"device_id": "\\ud800", "location": {}}', "application/json", "printable"),
        ('{"device_id": {"a": 1}, "location": {}}', "application/json", "must be a string"),
        ('{"device_id": "D", "location": []}', "application/json", "1 to 100 locations"),
        ("[" * 50_000 + "]" * 50_000, "application/json", "over 65536 bytes"),
        ("[" * 30_000 + "]" * 30_000, "application/json", "not JSON"),
        ("id=D%00&lat=45&lon=6", "application/x-www-form-urlencoded", "printable"),
        (b"id=\xff\xfe&lat=45&lon=6", "text/plain", "unknown device"),
        (b"\xff\xfe{", "application/json", "not JSON"),
        ("--x\r\nbroken", "multipart/form-data; boundary=x", "id is missing"),
        ("--x\r\nbroken", "multipart/form-data", "form body cannot be read"),
        ("id=D&lat=45&lon=6&" * 1000, "application/x-www-form-urlencoded", "cannot be read"),
    ],
)
def test_it_answers_any_body_with_a_4xx_and_a_reason(client, device, body, content_type, reason):
    before = Position.objects.count()
    response = client.post("/osmand/", body, content_type=content_type)
    assert 400 <= response.status_code < 500
    assert reason in response.content.decode()
    assert Position.objects.count() == before


def test_it_answers_a_nul_in_a_query_string_device_id_with_400(client, device):
    response = client.get("/osmand/", {"id": device + "\x00", "lat": 45.9, "lon": 6.1})
    assert _answer(response) == (400, "bad location: id must be 1 to 100 printable characters\n")


def test_it_limits_each_device_and_each_address_with_429(
    client, device, settings, django_assert_num_queries
):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "osmand.device": "3/m", "osmand.ip": "8/m"}
    other = Tracker.objects.exclude(device_digest=secret_digest(device)).get().device_id
    assert other is not None
    start = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) + dt.timedelta(minutes=1)

    def send(device_id: str, n: int) -> Any:
        params = {"id": device_id, "lat": 45.9, "lon": 6.1, "timestamp": int(time.time()) - n}
        return client.get("/osmand/", params)

    with time_machine.travel(start, tick=False) as clock:
        assert [send(device, n).status_code for n in range(3)] == [200, 200, 200]
        devices._devices.clear()
        with django_assert_num_queries(0):  # refused before any database work
            flood = [send(device, n) for n in range(3, 30)]
        assert {r.status_code for r in flood} == {429}
        assert int(flood[0]["Retry-After"]) >= 1 and "osmand.device" in flood[0].json()["error"]
        # The flood cost the other phone behind the same address nothing.
        assert [send(other, n).status_code for n in range(3)] == [200, 200, 200]
        assert send(UNKNOWN, 0).status_code == 404
        bad = client.get("/osmand/", {"id": UNKNOWN, "lat": "x", "lon": 1})
        assert bad.status_code == 400
        limited = client.get("/osmand/", {"id": UNKNOWN, "lat": "x", "lon": 1})
        assert limited.status_code == 429 and "osmand.ip" in limited.json()["error"]
        clock.shift(dt.timedelta(seconds=61))
        assert send(device, 40).status_code == 200
    assert Position.objects.count() == 7
