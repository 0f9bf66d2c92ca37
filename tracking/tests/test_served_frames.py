"""Frames as a real daphne writes them (``pace.lib.wsout``), read by a strict client.

The hub writes prebuilt frames straight to daphne's transport; here a race big enough
for 64-bit frame lengths (a snapshot of 2,400 athletes) is followed by two spectators
and a tracker through a real server, and every frame must parse and arrive in order.
"""

from __future__ import annotations

import asyncio
import json
import time

import websockets

from tracking.tests.helpers import run
from tracking.tests.serving import daphne_server

ATHLETES = 2400


async def _next(ws: websockets.ClientConnection, kind: str) -> tuple[dict, int]:
    while True:
        raw = await asyncio.wait_for(ws.recv(), 10)
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
                ticks = []
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
