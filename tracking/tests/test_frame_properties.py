"""Any frame a phone or a spectator may send (PROTOCOL.md §1, §3), generated: random JSON,
wrong types, huge numbers, NaN, NUL bytes, lone surrogates, unknown types, deep nesting,
binary frames. Each is answered (an ``error`` frame with a reason, or what the protocol
says), the socket stays usable or closes cleanly, and a refused frame stores nothing."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tracking.models import Kudos, Position, Post, Tracker
from tracking.sim.testrace import load_test_race_create
from tracking.tests.helpers import connect, run

pytestmark = pytest.mark.django_db(transaction=True)

PROPERTIES = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
STRANGE_TEXT = st.sampled_from(["", "\x00", "a\x00b", "\ud800", "x\udfffy", "é" * 300, "1e999"])
NUMBERS = st.one_of(
    st.integers(),
    st.integers(min_value=2**63 - 2, max_value=2**64 + 2),
    st.integers(min_value=10**30, max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, st.text(max_size=20), STRANGE_TEXT)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=12,
)
AGO = st.floats(min_value=0, max_value=600).map(lambda seconds: ("ago", seconds))


def _points() -> st.SearchStrategy[Any]:
    """Points, some of them valid (``("ago", s)``: that many seconds before sending)."""
    field = st.one_of(JSON, NUMBERS, st.floats(-200, 200))
    point = st.fixed_dictionaries(
        {"t": st.one_of(AGO, field), "lat": field, "lon": field},
        optional={key: field for key in ("alt", "acc", "spd", "hr", "cad", "bat")},
    )
    return st.one_of(st.lists(point | JSON, min_size=0, max_size=6), JSON)


TRACKER_FRAMES = st.one_of(
    st.fixed_dictionaries(
        {"type": st.just("hello")}, optional={"token": JSON, "device": JSON | STRANGE_TEXT}
    ),
    st.fixed_dictionaries(
        {"type": st.just("pos")},
        optional={"seq": st.one_of(NUMBERS, JSON, st.integers(1, 50)), "points": _points()},
    ),
    st.fixed_dictionaries(
        {"type": st.sampled_from(["post", "sos"])},
        optional={"text": st.one_of(JSON, STRANGE_TEXT, st.text(min_size=1, max_size=300))},
    ),
    st.dictionaries(st.text(max_size=6), JSON).map(lambda frame: {"type": "dance", **frame}),
)
SPECTATOR_FRAMES = st.one_of(
    st.fixed_dictionaries(
        {"type": st.just("follow")},
        optional={"athletes": st.one_of(JSON, st.lists(st.integers(), max_size=60))},
    ),
    st.fixed_dictionaries({"type": st.just("field")}, optional={"interval": JSON | NUMBERS}),
    st.fixed_dictionaries({"type": st.just("kudos")}, optional={"athlete": JSON | NUMBERS}),
)
RAW = st.one_of(
    st.text(max_size=40).map(lambda text: ("text", text)),
    st.binary(max_size=40).map(lambda data: ("bytes", data)),
    st.integers(1, 5000).map(lambda depth: ("text", "[" * depth + "]" * depth)),
    st.integers(1, 3000).map(lambda depth: ("text", '{"type":"pos","seq":' + "[" * depth)),
    JSON.map(lambda value: ("json", value)),
)


def _materialize(value: Any, now: float) -> Any:
    if isinstance(value, tuple):
        return now - value[1]
    if isinstance(value, list):
        return [_materialize(v, now) for v in value]
    if isinstance(value, dict):
        return {k: _materialize(v, now) for k, v in value.items()}
    return value


def _message(sent: Any) -> dict[str, Any]:
    """What a client sends: JSON the way Python writes it (NaN, lone surrogates escaped)."""
    kind, value = sent if isinstance(sent, tuple) else ("json", sent)
    if kind == "bytes":
        return {"type": "websocket.receive", "bytes": value}
    if kind == "json":
        value = json.dumps(_materialize(value, time.time()))
    return {"type": "websocket.receive", "text": value}


async def _answers(client: WebsocketCommunicator, sent: Any) -> tuple[list[dict], int | None]:
    """The frames ``sent`` is answered with (up to a probe's error, or the close), and the
    close code if the socket was closed; waits for an ack that an accepted batch is due."""
    await client.send_input(_message(sent))
    await client.send_to(text_data='{"type":"probe"}')
    frames: list[dict] = []
    while True:
        out = await client.receive_output(5)
        if out["type"] == "websocket.close":
            return frames, out.get("code")
        frame = json.loads(out["text"])
        assert isinstance(frame, dict) and isinstance(frame.get("type"), str), frame
        if frame["type"] == "error" and "'probe'" in frame.get("detail", ""):
            break
        frames.append(frame)
    errors = {f["code"] for f in frames if f["type"] == "error"}
    batch = isinstance(sent, dict) and sent.get("type") == "pos"
    if batch and not (errors - {"invalid_point"}) and not any(f["type"] == "ack" for f in frames):
        while frames[-1:] == [] or frames[-1]["type"] != "ack":  # stored after the probe
            frames.append(json.loads(await client.receive_from(5)))
            assert frames[-1]["type"] != "error" or frames[-1]["code"] != "not_stored"
    return frames, None


def _stored() -> tuple[int, int, int, int]:
    kudos = sum(Tracker.objects.values_list("kudos", flat=True))
    return Position.objects.count(), Post.objects.count(), Kudos.objects.count(), kudos


def _check(
    sent: Any, frames: list[dict], closed: int | None, before: tuple, allowed: set[int]
) -> None:
    errors = [f for f in frames if f["type"] == "error"]
    if isinstance(sent, tuple) or sent.get("type") == "dance":  # never a frame to take
        assert errors or closed, (sent, frames)
    for error in errors:
        assert isinstance(error["code"], str) and error["code"]
        assert isinstance(error["detail"], str) and error["detail"], error
    assert closed is None or closed in allowed, (closed, frames)
    if errors and not {e["code"] for e in errors} & {"invalid_point"}:
        assert _stored() == before, "a refused frame stored something"


@pytest.fixture
def race() -> dict[str, Any]:
    return load_test_race_create(athletes=3)


VALID_POINT = {"t": ("ago", 1.0), "lat": 45.0, "lon": 6.0}


@PROPERTIES
@given(sent=st.one_of(TRACKER_FRAMES, RAW), with_token=st.booleans())
# Each of these broke the socket, or every athlete's group commit, before.
@example(sent={"type": "pos", "seq": 2**63, "points": [VALID_POINT]}, with_token=True)
@example(sent={"type": "post", "text": "a\x00b"}, with_token=True)
@example(sent={"type": "post", "text": "x\ud800"}, with_token=True)
@example(sent={"type": "hello", "device": "\udfff"}, with_token=True)
@example(sent={"type": "hello", "token": "\x00"}, with_token=False)
@example(sent=("text", "[" * 3000 + "]" * 3000), with_token=True)
def test_every_tracker_frame_is_answered_and_a_refused_one_stores_nothing(race, sent, with_token):
    token = race["athletes"][0]["token"]
    before = _stored()

    async def scenario():
        client = await connect(f"/ws/track/?token={token}" if with_token else "/ws/track/")
        if with_token:
            assert json.loads(await client.receive_from(3))["type"] == "welcome"
        return await _answers(client, sent)

    frames, closed = run(scenario)
    # Without a token, a frame other than hello is refused (4401), as is a bad hello.
    _check(sent, frames, closed, before, allowed=set() if with_token else {4401})


@PROPERTIES
@given(sent=st.one_of(SPECTATOR_FRAMES, TRACKER_FRAMES, RAW))
def test_every_spectator_frame_is_answered_and_a_refused_one_stores_nothing(race, sent):
    before = _stored()

    async def scenario():
        client = await connect(f"/ws/live/{race['race_id']}/")
        assert json.loads(await client.receive_from(3))["type"] == "snapshot"
        return await _answers(client, sent)

    frames, closed = run(scenario)
    _check(sent, frames, closed, before, allowed=set())
