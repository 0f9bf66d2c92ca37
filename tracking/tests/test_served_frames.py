"""Frames as a real daphne writes them (``pace.daphne_patches.outlet``), read by a strict client.

The hub writes prebuilt frames straight to daphne's transport; here a race big enough
for 64-bit frame lengths (a snapshot of 2,400 athletes) is followed by two spectators
and a tracker through a real server, and every frame must parse and arrive in order.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import time
from typing import Any

import websockets

from tracking.tests.helpers import run
from tracking.tests.serving import daphne_server, migrated_db, sqlite_env

ATHLETES = 2400
FOLLOWS = 100  # 100 snapshots of 2,400 athletes: 8 MB, twice Linux's largest send buffer


async def _next(
    ws: websockets.ClientConnection, kind: str, timeout: float = 10
) -> tuple[dict, int]:
    while True:
        raw = await asyncio.wait_for(ws.recv(), timeout)
        frame = json.loads(raw)
        if frame["type"] == kind:
            return frame, len(raw.encode())


def test_big_snapshots_ticks_and_acks_arrive_whole_and_in_order(tmp_path):
    with daphne_server(tmp_path) as server:
        race = server.test_race(ATHLETES)
        ws_url = server.url.replace("http", "ws")
        runner, other = race["athletes"][0], race["athletes"][1]

        async def scenario():
            live = f"{ws_url}/ws/live/{race['race_id']}/"
            async with (
                websockets.connect(live, max_size=None) as first,
                websockets.connect(live, max_size=None) as second,
                websockets.connect(f"{ws_url}/ws/track/?token={runner['token']}") as phone,
            ):
                early, _ = await _next(first, "snapshot")
                await _next(second, "snapshot")
                await _next(first, "tick")  # the race's ticker is on: its field is whole
                await _next(second, "tick")
                for ws in (first, second):
                    await ws.send(json.dumps({"type": "follow", "athletes": [other["id"]]}))
                snapshots = [await _next(first, "snapshot"), await _next(second, "snapshot")]
                welcome, _ = await _next(phone, "welcome")
                await first.send(json.dumps({"type": "follow", "athletes": [runner["id"]]}))
                followed, _ = await _next(first, "snapshot")
                await first.send(json.dumps({"type": "field", "interval": 1}))
                now = time.time()
                point = {"t": now, "lat": 45.9, "lon": 6.13, "hr": 150}
                await phone.send(json.dumps({"type": "pos", "seq": 1, "points": [point]}))
                ack, _ = await _next(phone, "ack")
                ticks: list[dict[str, Any]] = []
                while not any(a["id"] == runner["id"] for t in ticks for a in t["athletes"]):
                    ticks.append((await _next(first, "tick"))[0])
                field, _ = await _next(first, "field")
                await second.send(json.dumps({"type": "follow", "athletes": "nope"}))
                error, _ = await _next(second, "error")
                return early, snapshots, welcome, followed, ack, ticks, field, error

        early, snapshots, welcome, followed, ack, ticks, field, error = run(scenario)

    assert early["race"]["athletes"] == ATHLETES and early["race"]["field_interval"] > 1
    for snapshot, size in snapshots:
        assert size > 65536  # a 64-bit payload length
        assert snapshot["race"]["athletes"] == ATHLETES and len(snapshot["field"]) == ATHLETES
    assert welcome["athlete"]["id"] == runner["id"] and ack == {"type": "ack", "seq": 1}
    assert [a["id"] for a in followed["athletes"]][-1:] == [runner["id"]]
    seqs = [t["seq"] for t in ticks]
    assert seqs == list(range(followed["seq"] + 1, followed["seq"] + 1 + len(seqs)))
    assert field["seq"] >= seqs[-1] and other["id"] not in [e[0] for e in field["field"]]
    assert error["code"] == "bad_follow"


def _masked(text: str) -> bytes:
    """A client's text frame (clients mask, RFC 6455 §5.3)."""
    payload, mask = text.encode(), os.urandom(4)
    assert len(payload) < 126
    return (
        bytes((0x81, 0x80 | len(payload)))
        + mask
        + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    )


def _frames(data: bytes) -> list[dict]:
    """The server's whole text frames at the start of ``data`` (servers do not mask)."""
    out = []
    while len(data) >= 10:
        size, start = data[1] & 0x7F, 2
        if size == 126:
            size, start = int.from_bytes(data[2:4], "big"), 4
        elif size == 127:
            size, start = int.from_bytes(data[2:10], "big"), 10
        if len(data) < start + size:
            break  # still arriving
        if data[0] & 0x0F == 1:
            out.append(json.loads(data[start : start + size]))
        data = data[start + size :]
    return out


def _seqs(data: bytes) -> list[tuple[str, int]]:
    """(type, seq) of the frames in ``data`` that carry a seq (errors do not)."""
    return [(f["type"], f["seq"]) for f in _frames(data) if "seq" in f]


def _caught_up(frames: list[tuple[str, int]]) -> bool:
    """A fresh snapshot that skipped ticks, then a tick after it."""
    snapshots = [i for i, (kind, _) in enumerate(frames) if kind == "snapshot"]
    if len(snapshots) < 2 or frames[-1][0] != "tick":
        return False
    before = [seq for kind, seq in frames[: snapshots[-1]] if kind == "tick"]
    fresh = frames[snapshots[-1]][1]
    return fresh > max([frames[snapshots[-2]][1], *before]) + 1


def test_a_slow_spectator_skips_to_the_latest_state(tmp_path):
    """Its socket full, a spectator gets nothing more (not even the snapshots of the
    follows it sends meanwhile); once it has read it all, one fresh snapshot (ticks it
    missed skipped), then ticks again."""
    env = sqlite_env(migrated_db(tmp_path / "db.sqlite3")) | {
        "TRACKING_VIEWER_BACKLOG_BYTES": "20000",
        "TRACKING_FOLLOW_BURST": str(FOLLOWS),  # each one a snapshot, as fast as it likes
    }
    with daphne_server(tmp_path, env=env) as server:
        race = server.test_race(ATHLETES)
        host, port = server.url.removeprefix("http://").split(":")

        live = f"{server.url.replace('http', 'ws')}/ws/live/{race['race_id']}/"

        async def first_tick() -> None:
            async with websockets.connect(live, max_size=None) as ws:
                await _next(ws, "tick")  # the race's ticker is on: snapshots hold its field

        async def ticks_pass() -> None:
            """Until the ticker has sent two more ticks, which the full socket skips (a
            loaded machine's daphne, building a hundred big snapshots, may be slow to)."""
            async with websockets.connect(live, max_size=None, open_timeout=30) as ws:
                first, _ = await _next(ws, "tick", timeout=30)
                while (await _next(ws, "tick", timeout=30))[0]["seq"] < first["seq"] + 2:
                    pass

        run(first_tick)
        slow = socket.socket()
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a phone on a bad network
        slow.connect((host, int(port)))
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET /ws/live/{race['race_id']}/ HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        slow.sendall(request.encode())
        received = b""
        while b"\r\n\r\n" not in received:
            received += slow.recv(1)
        assert received.startswith(b"HTTP/1.1 101")
        follow = json.dumps({"type": "follow", "athletes": [race["athletes"][0]["id"]]})
        for _ in range(FOLLOWS):  # more big snapshots than the kernel's buffers hold
            slow.sendall(_masked(follow))
        for _ in range(FOLLOWS):  # refused frames: not answered on a full socket either
            slow.sendall(_masked('{"type":"dance"}'))
        run(ticks_pass)
        slow.settimeout(0.5)
        data = b""
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                chunk = slow.recv(1 << 20)
            except TimeoutError:
                if _caught_up(_seqs(data)):
                    break
                continue
            if not chunk:
                break
            data += chunk
        slow.close()
    frames = _seqs(data)
    snapshots = [i for i, (kind, _) in enumerate(frames) if kind == "snapshot"]
    assert 2 < len(snapshots) < 1 + FOLLOWS  # not one per follow: the full socket got none
    assert _caught_up(frames)
    assert sum(f["type"] == "error" for f in _frames(data)) < FOLLOWS
    fresh = frames[snapshots[-1]][1]
    after = [seq for kind, seq in frames[snapshots[-1] + 1 :] if kind == "tick"]
    assert after == list(range(fresh + 1, fresh + 1 + len(after))) and after
