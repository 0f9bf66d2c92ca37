"""``/osmand/`` under any input: never a 500, and nothing stored from a refused request.

Query strings, form bodies and JSON bodies drawn by hypothesis: the fields real apps
send with any value (numbers past float's range, NaN, huge integers, NULs, odd text),
unknown fields, the device linked or not, and raw bytes with any content type.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tracking.models import Position
from tracking.sim.testrace import load_test_race_create

pytestmark = pytest.mark.django_db(transaction=True)
FUZZ = settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
FIELDS = ["id", "deviceid", "lat", "lon", "location", "timestamp", "speed", "bearing",
          "heading", "altitude", "accuracy", "batt", "hr", "hdop"]  # fmt: skip


@pytest.fixture
def device(client) -> str:
    return load_test_race_create(athletes=1)["athletes"][0]["device_id"]


NOW = int(time.time())  # one for the whole run: hypothesis replays draws exactly


def numbers() -> st.SearchStrategy[Any]:
    now = NOW
    return st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(),
        st.integers(min_value=10**300, max_value=10**400),
        st.floats(min_value=-90, max_value=90),
        st.floats(min_value=now - 3 * 3600, max_value=now + 3600),
        st.sampled_from([0, -1, 1e400, -1e400, 10**400, -(10**309), 2**31, 2**63, now, now * 1000]),
    )


def texts() -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(max_size=40),
        numbers().map(str),
        st.sampled_from(["", "nan", "inf", "-inf", "1e400", "45.9,6.1", "45.9", "\x00",
                         "2025-06-15T13:45:12.862Z", "2014-06-04 09:10:11", "9999-12-31T23:59:59",
                         "0001-01-01T00:00:00+14:00"]),
    )  # fmt: skip


def params(device: str) -> st.SearchStrategy[dict[str, str]]:
    ids = st.one_of(st.just(device), texts())
    fields = st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), texts(), max_size=10)
    return st.builds(lambda i, f: {"id": i, **f} if i is not None else f, st.none() | ids, fields)


def near_valid(device: str) -> st.SearchStrategy[dict[str, str]]:
    """A fix a real app sends, with a field or two changed to anything."""
    base = {"id": device, "lat": "45.9", "lon": "6.13", "timestamp": str(NOW), "speed": "3"}
    changes = st.dictionaries(st.sampled_from(FIELDS), texts() | numbers().map(str), max_size=2)
    return changes.map(lambda changed: {**base, **changed})


def json_values() -> st.SearchStrategy[Any]:
    scalars = st.none() | st.booleans() | numbers() | texts()
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.text(max_size=8), inner, max_size=3), max_leaves=8)  # fmt: skip


def traccar_json(device: str) -> st.SearchStrategy[dict[str, Any]]:
    coords = st.fixed_dictionaries(
        {}, optional={key: numbers() | json_values() for key in
                      ("latitude", "longitude", "accuracy", "speed", "heading", "altitude")},
    )  # fmt: skip
    location = st.fixed_dictionaries(
        {"coords": coords | json_values()},
        optional={"timestamp": texts() | numbers(), "battery": st.fixed_dictionaries(
            {}, optional={"level": numbers() | json_values()}) | json_values()},
    )  # fmt: skip
    valid: dict[str, Any] = {
        "coords": {"latitude": 45.9, "longitude": 6.13, "speed": 2.5},
        "timestamp": NOW,
    }
    near = st.dictionaries(st.sampled_from(["latitude", "longitude", "speed", "heading",
        "accuracy", "altitude"]), numbers() | json_values(), max_size=2).map(
        lambda changed: {**valid, "coords": {**valid["coords"], **changed}})  # fmt: skip
    return st.fixed_dictionaries(
        {"device_id": st.just(device) | json_values()},
        optional={"location": near | location | st.lists(near | location, max_size=3)},
    )


def _refused_stores_nothing(response: Any, before: int) -> None:
    event(f"status {response.status_code}")  # --hypothesis-show-statistics: what was drawn
    assert response.status_code < 500, response.content
    if response.status_code != 200:
        assert 400 <= response.status_code < 500
        assert response.content.strip(), "a refusal says why"
        assert Position.objects.count() == before


@FUZZ
@given(data=st.data())
def test_it_answers_any_query_string_without_a_500(client, device, data):
    query = data.draw(near_valid(device) | params(device))
    before = Position.objects.count()
    method = data.draw(st.sampled_from(["GET", "POST"]))
    response = client.generic(method, "/osmand/?" + urlencode(query))
    _refused_stores_nothing(response, before)


@FUZZ
@given(data=st.data())
def test_it_answers_any_form_body_without_a_500(client, device, data):
    body = urlencode(data.draw(near_valid(device) | params(device)))
    content_type = data.draw(
        st.sampled_from(["application/x-www-form-urlencoded", "text/plain", ""])
    )
    before = Position.objects.count()
    _refused_stores_nothing(client.post("/osmand/", body, content_type=content_type), before)


@FUZZ
@given(data=st.data())
def test_it_answers_any_json_body_without_a_500(client, device, data):
    body = data.draw(traccar_json(device) | json_values())
    text = json.dumps(body, allow_nan=True)
    before = Position.objects.count()
    response = client.post("/osmand/", text, content_type="application/json")
    _refused_stores_nothing(response, before)


@FUZZ
@given(
    body=st.binary(max_size=300),
    content_type=st.sampled_from(
        ["application/json", "application/x-www-form-urlencoded", "multipart/form-data",
         "multipart/form-data; boundary=x", "text/plain", "application/octet-stream", ""]
    ),
)  # fmt: skip
def test_it_answers_any_bytes_without_a_500(client, device, body, content_type):
    before = Position.objects.count()
    _refused_stores_nothing(client.post("/osmand/", body, content_type=content_type), before)
