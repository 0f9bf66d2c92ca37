"""What a real daphne serving Pace does with frames and sockets it refuses: a close with a
code and a reason (never a reset TCP connection), or an ``error`` frame on a socket that
stays usable (PROTOCOL.md)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import websockets
from websockets.exceptions import ConnectionClosed

from pace.lib.testing import wait_until
from tracking.tests.helpers import run
from tracking.tests.serving import daphne_server, migrated_db, sqlite_env

TOO_BIG = 2 * 1024 * 1024  # daphne's --websocket_max_message_size is 1 MB
SOCKETS_PER_HOUR = 5  # the sixth socket below is refused


async def _closed_after(ws: websockets.ClientConnection, message: str | bytes, **kw) -> object:
    """The close frame the server answers ``message`` with (None: no close frame, a reset)."""
    try:
        await ws.send(message, **kw)
        while True:
            await asyncio.wait_for(ws.recv(), 10)
    except ConnectionClosed as closed:
        return closed.rcvd


async def _next(ws: websockets.ClientConnection, kind: str) -> dict:
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if frame["type"] == kind:
            return frame


def _race_sockets(server: Any) -> tuple[dict[str, Any], str, str]:
    """A test race of two on ``server``, its spectators' socket URL and its first phone's."""
    race = server.test_race(2)
    ws_url = server.url.replace("http", "ws")
    live = f"{ws_url}/ws/live/{race['race_id']}/"
    return race, live, f"{ws_url}/ws/track/?token={race['athletes'][0]['token']}"


def test_it_closes_oversized_and_non_utf8_frames_and_sockets_over_the_ip_limit(tmp_path):
    env = sqlite_env(migrated_db(tmp_path / "db.sqlite3"))
    env |= {"RATE_LIMIT_WS_CONNECT_IP": f"{SOCKETS_PER_HOUR}/h"}
    with daphne_server(tmp_path, env=env) as server:
        race, live, track = _race_sockets(server)

        async def scenario():
            out = {}
            async with websockets.connect(live, max_size=None) as ws:
                await _next(ws, "snapshot")
                out["live_too_big"] = await _closed_after(ws, "x" * TOO_BIG)
            async with websockets.connect(track) as ws:
                await _next(ws, "welcome")
                big = json.dumps({"type": "post", "text": "x" * TOO_BIG})
                out["track_too_big"] = await _closed_after(ws, big)
            async with websockets.connect(live, max_size=None) as ws:
                await _next(ws, "snapshot")
                out["not_utf8"] = await _closed_after(ws, b'{"type":"\xff"}', text=True)
            async with websockets.connect(live, max_size=None) as ws:
                await _next(ws, "snapshot")
                await ws.send(b"\x00\x01binary")
                out["binary"] = await _next(ws, "error")
                await ws.send(json.dumps({"type": "field", "interval": 0}))
                out["after_binary"] = await _next(ws, "error")
            async with websockets.connect(live, max_size=None) as ws:
                out["fifth"] = await _next(ws, "snapshot")
            async with websockets.connect(track) as ws:
                out["refused"] = await _next(ws, "error")
                out["refused_close"] = await _closed_after(ws, json.dumps({"type": "hello"}))
            return out

        out = run(scenario)

    for key in ("live_too_big", "track_too_big"):
        assert out[key] is not None, "a close frame, not a reset connection"
        assert out[key].code == 1009 and "exceeds payload limit" in out[key].reason
    assert out["not_utf8"] is not None and out["not_utf8"].code == 1007
    assert out["binary"]["code"] == "bad_frame" and out["after_binary"]["code"] == "bad_interval"
    assert out["fifth"]["race"]["id"] == race["race_id"]
    refused = out["refused"]
    assert refused["code"] == "rate_limited" and refused["retry_after"] >= 1
    assert out["refused_close"].code == 1013
    assert out["refused_close"].reason == f"retry={refused['retry_after']}"


def test_it_refuses_a_socket_past_the_ips_open_cap_until_one_goes_even_abruptly(tmp_path):
    """``TRACKING_MAX_SOCKETS_PER_IP``: counted on accept, freed however a socket ends
    (here a client that drops its TCP connection without a close frame)."""
    env = sqlite_env(migrated_db(tmp_path / "db.sqlite3")) | {"TRACKING_MAX_SOCKETS_PER_IP": "2"}
    with daphne_server(tmp_path, env=env) as server:
        race, live, track = _race_sockets(server)

        async def scenario():
            out: dict[str, Any] = {}
            tab = await websockets.connect(live, max_size=None)
            await _next(tab, "snapshot")
            async with websockets.connect(track) as phone:
                await _next(phone, "welcome")
                async with websockets.connect(live, max_size=None) as third:
                    out["refused"] = await _next(third, "error")
                    out["closed"] = await _closed_after(third, json.dumps({"type": "hello"}))
                tab.transport.abort()  # gone without a close frame

                async def admitted() -> dict | None:
                    async with websockets.connect(live, max_size=None) as again:
                        first = json.loads(await asyncio.wait_for(again.recv(), 10))
                    return first if first["type"] == "snapshot" else None

                # Until daphne has seen it go.
                out["again"] = await wait_until(admitted, timeout=30, every=0.1)
            return out

        out = run(scenario)

    assert out["refused"]["code"] == "rate_limited" and out["refused"]["limit"] == "ws.open.ip"
    assert out["closed"].code == 1013
    assert out["closed"].reason == f"retry={out['refused']['retry_after']}"
    assert out["again"]["race"]["id"] == race["race_id"]
