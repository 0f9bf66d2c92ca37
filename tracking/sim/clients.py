"""The simulated trackers: phones on ``/ws/track/`` and tracker apps on ``/osmand/``.

A phone sends ``pos`` batches with increasing ``seq``, keeps every batch until its
``ack`` and resends what was not acked after reconnecting, from the ``welcome``'s
``last_seq``; an OsmAnd / Traccar app sends one GET a fix, queued while offline.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from tracking.sim.runners import Runner

KNOT_MS = 0.514444
MAX_BATCH = 500


@dataclass
class Stats:
    points: int = 0
    acked: int = 0
    batches: int = 0
    resent: int = 0
    connects: int = 0
    osmand_ok: int = 0
    posts: int = 0
    errors: Counter[str] = field(default_factory=Counter)

    def line(self, runners: list[Runner]) -> str:
        finished = sum(1 for r in runners if r.finished_at is not None)
        out = sum(1 for r in runners if r.out)
        errors = ", ".join(f"{k} {v}" for k, v in self.errors.most_common(4)) or "none"
        return (
            f"{self.points} fixes made, {self.acked} acked over WebSocket, {self.osmand_ok} via "
            f"OsmAnd; {self.connects} connections, {self.resent} batches resent; "
            f"{finished} finished, {out} out; errors: {errors}"
        )


class PhoneClient:
    """A phone on ``/ws/track/``: batches with seq, kept until acked, resent after a reconnect."""

    def __init__(self, runner: Runner, *, ws_url: str, origin: str, stats: Stats) -> None:
        self.runner, self.ws_url, self.origin, self.stats = runner, ws_url, origin, stats
        self.pending: list[dict[str, Any]] = []
        self.batches: dict[int, list[dict[str, Any]]] = {}
        self.next_seq = 1
        self.conn: ClientConnection | None = None
        self.reader: asyncio.Task[None] | None = None
        self.retry_at = 0.0
        self.failures = 0

    async def _connect(self) -> None:
        url = f"{self.ws_url}/ws/track/?token={self.runner.athlete.token}"
        try:
            conn = await connect(url, origin=self.origin, open_timeout=10)  # type: ignore[arg-type]
            welcome = json.loads(await asyncio.wait_for(conn.recv(), 10))
        except (OSError, TimeoutError, WebSocketException, ValueError) as exc:
            self.failures += 1
            self.retry_at = time.time() + min(30, 2**self.failures) * random.uniform(0.5, 1)
            self.stats.errors[f"connect: {type(exc).__name__}"] += 1
            return
        if welcome.get("type") != "welcome":
            self.stats.errors[f"refused: {welcome.get('code')}"] += 1
            self.runner.out = True  # a bad token stays bad
            await conn.close()
            return
        self.failures = 0
        self.stats.connects += 1
        last = welcome.get("last_seq") or 0
        for seq in [s for s in self.batches if s <= last]:
            del self.batches[seq]  # stored before the connection dropped; the ack was lost
        self.next_seq = max(self.next_seq, last + 1)
        self.conn = conn
        self.reader = asyncio.ensure_future(self._read(conn))
        for seq, points in sorted(self.batches.items()):
            self.stats.resent += 1
            await self._send({"type": "pos", "seq": seq, "points": points})

    async def _read(self, conn: ClientConnection) -> None:
        with contextlib.suppress(WebSocketException, OSError):
            async for raw in conn:
                frame = json.loads(raw)
                kind = frame.get("type")
                if kind == "ack":
                    points = self.batches.pop(frame["seq"], None)
                    if points is not None:
                        self.stats.acked += len(points)
                        self.stats.batches += 1
                elif kind == "error":
                    self.stats.errors[frame.get("code", "error")] += 1
        if self.conn is conn:
            self.conn = None

    async def _send(self, frame: dict[str, Any]) -> None:
        if self.conn is None:
            return
        try:
            await self.conn.send(json.dumps(frame, separators=(",", ":")))
        except (WebSocketException, OSError):
            self.conn = None

    async def _disconnect(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()

    async def flush(self) -> None:
        """Cut what is pending into batches (at most 500 points) and send them."""
        while self.pending and self.conn is not None:
            seq, self.next_seq = self.next_seq, self.next_seq + 1
            self.batches[seq], self.pending = self.pending[:MAX_BATCH], self.pending[MAX_BATCH:]
            await self._send({"type": "pos", "seq": seq, "points": self.batches[seq]})

    async def step(self, now: float, point: dict[str, Any] | None, send: bool) -> None:
        if point is not None:
            self.pending.append(point)
        if self.runner.offline(now) or self.runner.out:
            await self._disconnect()
            return
        if self.conn is None and now >= self.retry_at:
            await self._connect()
        if self.conn is None or not send:
            return
        await self.flush()
        text = self.runner.post()
        if text:
            self.stats.posts += 1
            await self._send({"type": "post", "text": text})

    async def finish(self, wait: float = 3.0) -> None:
        """Send what is left and wait a little for its acks, as a phone at the finish does."""
        if self.conn is None and self.pending and not self.runner.out:
            await self._connect()
        await self.flush()
        deadline = time.time() + wait
        while self.batches and self.conn is not None and time.time() < deadline:
            await asyncio.sleep(0.1)
        await self._disconnect()


class OsmAndClient:
    """A tracker app on ``/osmand/``: one GET a fix, queued while offline."""

    def __init__(self, runner: Runner, *, base_url: str, stats: Stats) -> None:
        self.runner, self.base_url, self.stats = runner, base_url, stats
        self.queue: list[dict[str, Any]] = []

    def _get(self, point: dict[str, Any]) -> int:
        query = {
            "id": self.runner.athlete.device_id, "lat": point["lat"], "lon": point["lon"],
            "timestamp": int(point["t"]), "speed": round(point["spd"] / KNOT_MS, 2),
            "accuracy": point["acc"],
        }  # fmt: skip
        url = f"{self.base_url}/osmand/?{urlencode(query)}"
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return exc.code

    async def step(self, now: float, point: dict[str, Any] | None, send: bool) -> None:
        if point is not None:
            self.queue.append(point)
        if self.runner.offline(now) or not send:
            return
        while self.queue:
            try:
                status = await asyncio.to_thread(self._get, self.queue[0])
            except OSError as exc:
                self.stats.errors[f"osmand: {type(exc).__name__}"] += 1
                return  # keep the fix for the next try, as the app does
            self.queue.pop(0)
            if status == 200:
                self.stats.osmand_ok += 1
            else:
                self.stats.errors[f"osmand {status}"] += 1

    async def finish(self, wait: float = 3.0) -> None:
        await self.step(time.time(), None, True)
