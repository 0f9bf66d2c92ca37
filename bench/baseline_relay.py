"""A minimal one-process relay of PROTOCOL.md's live tracking, on plain ``websockets``.

The yardstick of ``bench.live``: what one Python process does with the same load
when nothing but the contract's essentials is done. It

- accepts ``/ws/track/?token=...`` (tokens from the test race JSON), answers
  ``welcome``; each ``pos`` batch is appended to a file and the file fsynced
  before the ``ack`` (group commit: every batch that arrived while the previous
  fsync ran goes into the next one); a resent ``seq`` is acked and not stored twice;
- ticks once a second: applies the fixes of the tick (distance along the course
  by a local nearest-vertex search), ranks, encodes each changed athlete once,
  then sends each spectator one ``tick`` frame with the changed athletes of its
  focus (the 10 leaders plus its follows), a ``field`` frame every field interval
  (the same budget rule as Pace: about 40 bytes an athlete within 5 KB/s), and
  each tracker whose standing changed a ``state`` frame;
- accepts ``/ws/live/RACE_ID/``: a ``snapshot`` on connect and after each ``follow``.

A spectator whose socket buffers more than ``SLOW_BYTES`` is skipped and gets a
fresh snapshot once it drains (drop to latest state), as Pace's viewers do.

Run by ``bench.live``: ``python -m bench.baseline_relay --fd FD --race race.json
--store fixes.log``. Not part of Pace.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import socket
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection, broadcast, serve

LEADERS = 10
MAX_FOLLOWS = 50
FIELD_BUDGET = 5000
COMPACT_ENTRY_BYTES = 40
SLOW_BYTES = 256 * 1024
_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


class CourseIndex:
    """Distance along a polyline of (lat, lon) by a nearest-vertex search near the last one."""

    def __init__(self, coords: list[list[float]]) -> None:
        self.pts = [(c[1], c[0]) for c in coords]
        self.k = math.cos(math.radians(self.pts[0][0])) if self.pts else 1.0
        self.cum = [0.0]
        for (a, b), (c, d) in zip(self.pts, self.pts[1:], strict=False):
            self.cum.append(
                self.cum[-1] + math.hypot((c - a) * 111_195.0, (d - b) * 111_195.0 * self.k)
            )
        self.length = self.cum[-1] or 1.0

    def locate(self, lat: float, lon: float, hint: int) -> int:
        best, best_d = hint, math.inf
        for i in range(max(0, hint - 5), min(len(self.pts), hint + 40)):
            p = self.pts[i]
            d = (p[0] - lat) ** 2 + ((p[1] - lon) * self.k) ** 2
            if d < best_d:
                best, best_d = i, d
        return best


class Runner:
    __slots__ = (
        "bib",
        "dirty",
        "distance",
        "id",
        "idx",
        "last_seq",
        "lat",
        "lon",
        "name",
        "rank",
        "speed",
        "status",
        "t",
        "ws",
    )

    def __init__(self, info: dict[str, Any]) -> None:
        self.id, self.bib = info["id"], info["bib"]
        self.name = f"Athlete {info['bib']}"
        self.lat: float | None = None
        self.lon: float | None = None
        self.t: float | None = None
        self.idx, self.distance, self.speed = 0, 0.0, 0.0
        self.rank: int | None = None
        self.status = "not_started"
        self.last_seq = 0
        self.dirty = False
        self.ws: ServerConnection | None = None


class Spectator:
    __slots__ = ("follows", "resync", "ws")

    def __init__(self, ws: ServerConnection) -> None:
        self.ws = ws
        self.follows: list[int] = []
        self.resync = False


class Relay:
    def __init__(self, race: dict[str, Any], course: list[list[float]], store: str) -> None:
        self.race_id = race["race_id"]
        self.runners = {a["id"]: Runner(a) for a in race["athletes"]}
        self.tokens = {a["token"]: a["id"] for a in race["athletes"]}
        self.course = CourseIndex(course)
        self.info = {
            "id": self.race_id,
            "name": "Load test 10K",
            "start": time.time(),
            "course_url": race.get("course_url"),
            "athletes": len(self.runners),
        }
        self.field_interval = max(
            1, min(60, math.ceil(len(self.runners) * COMPACT_ENTRY_BYTES / FIELD_BUDGET))
        )
        self.info["field_interval"] = self.field_interval
        self.fd = os.open(store, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.pending: list[tuple[bytes, asyncio.Future[None]]] = []
        self.wake = asyncio.Event()
        self.fixes: list[tuple[int, float, float, float]] = []
        self.spectators: set[Spectator] = set()
        self.seq = 0
        self.t = 0.0
        self.leaders: list[int] = []
        self.states: dict[int, str] = {}
        self.field: dict[int, str] = {}
        self.field_changed: dict[int, str] = {}
        self.stats = {"fsyncs": 0, "fixes": 0, "ticks": 0, "late_ticks": 0, "skipped_slow": 0}

    # --- durability: group commit to an fsynced file --------------------------------
    def _write(self, data: bytes) -> None:
        os.write(self.fd, data)
        os.fsync(self.fd)

    async def committer(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self.wake.wait()
            self.wake.clear()
            batch, self.pending = self.pending, []
            if not batch:
                continue
            await loop.run_in_executor(None, self._write, b"".join(b for b, _ in batch))
            self.stats["fsyncs"] += 1
            for _, fut in batch:
                if not fut.done():
                    fut.set_result(None)

    async def store(self, lines: bytes) -> None:
        fut = asyncio.get_running_loop().create_future()
        self.pending.append((lines, fut))
        self.wake.set()
        await fut

    # --- trackers --------------------------------------------------------------------
    async def tracker(self, ws: ServerConnection, token: str) -> None:
        athlete_id = self.tokens.get(token)
        if athlete_id is None:
            await ws.send(_dumps({"type": "error", "code": "unauthorized", "detail": "bad token"}))
            await ws.close(4401)
            return
        runner = self.runners[athlete_id]
        runner.ws = ws
        await ws.send(
            _dumps(
                {
                    "type": "welcome",
                    "athlete": {"id": runner.id, "name": runner.name, "bib": runner.bib},
                    "race": {
                        "id": self.race_id,
                        "name": self.info["name"],
                        "start": self.info["start"],
                    },
                    "last_seq": runner.last_seq or None,
                }
            )
        )
        tasks: set[asyncio.Task[None]] = set()
        try:
            async for text in ws:
                try:
                    frame = json.loads(text)
                except ValueError:
                    await ws.send(
                        _dumps({"type": "error", "code": "bad_json", "detail": "not JSON"})
                    )
                    continue
                if not isinstance(frame, dict) or frame.get("type") != "pos":
                    await ws.send(_dumps({"type": "error", "code": "unknown_type", "detail": "?"}))
                    continue
                task = asyncio.ensure_future(self.pos(ws, runner, frame))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        finally:
            if runner.ws is ws:
                runner.ws = None

    async def pos(self, ws: ServerConnection, runner: Runner, frame: dict[str, Any]) -> None:
        seq, points = frame.get("seq"), frame.get("points")
        if not isinstance(seq, int) or not isinstance(points, list) or not 1 <= len(points) <= 500:
            await ws.send(_dumps({"type": "error", "code": "bad_batch", "detail": "?", "seq": seq}))
            return
        if seq <= runner.last_seq:
            await ws.send(_dumps({"type": "ack", "seq": seq}))
            return
        good = []
        for p in points:
            try:
                t, lat, lon = float(p["t"]), float(p["lat"]), float(p["lon"])
            except (KeyError, TypeError, ValueError):
                continue
            if math.isfinite(t + lat + lon) and -90 <= lat <= 90 and -180 <= lon <= 180:
                good.append((t, lat, lon))
        lines = "".join(f"{runner.id} {seq} {t} {lat} {lon}\n" for t, lat, lon in good)
        await self.store(lines.encode())
        runner.last_seq = max(runner.last_seq, seq)
        self.fixes.extend((runner.id, t, lat, lon) for t, lat, lon in good)
        self.stats["fixes"] += len(good)
        await ws.send(_dumps({"type": "ack", "seq": seq}))

    # --- spectators ------------------------------------------------------------------
    def snapshot(self, spec: Spectator) -> str:
        ids = list(dict.fromkeys([*self.leaders, *spec.follows]))
        states = ",".join(self.states[i] for i in ids if i in self.states)
        return (
            f'{{"type":"snapshot","race":{_dumps(self.info)},"seq":{self.seq},"t":{self.t},'
            f'"athletes":[{states}],"field":[{",".join(self.field.values())}],"posts":[]}}'
        )

    async def spectator(self, ws: ServerConnection) -> None:
        spec = Spectator(ws)
        self.spectators.add(spec)
        try:
            await ws.send(self.snapshot(spec))
            async for text in ws:
                try:
                    frame = json.loads(text)
                except ValueError:
                    frame = None
                if isinstance(frame, dict) and frame.get("type") == "follow":
                    ids = frame.get("athletes")
                    if not isinstance(ids, list) or len(set(ids)) > MAX_FOLLOWS:
                        await ws.send(_dumps({"type": "error", "code": "too_many", "detail": "?"}))
                    elif any(i not in self.runners for i in ids):
                        await ws.send(
                            _dumps({"type": "error", "code": "unknown_athlete", "detail": "?"})
                        )
                    else:
                        spec.follows = list(dict.fromkeys(ids))
                        await ws.send(self.snapshot(spec))
                else:
                    await ws.send(_dumps({"type": "error", "code": "unknown_type", "detail": "?"}))
        finally:
            self.spectators.discard(spec)

    async def handler(self, ws: ServerConnection) -> None:
        assert ws.request is not None  # the handler runs after the handshake
        url = urlsplit(ws.request.path)
        if url.path == "/ws/track/":
            await self.tracker(ws, parse_qs(url.query).get("token", [""])[0])
        elif url.path == f"/ws/live/{self.race_id}/":
            await self.spectator(ws)
        else:
            await ws.close(4404)

    # --- the tick --------------------------------------------------------------------
    def tick(self, now: float) -> None:  # noqa: C901
        fixes, self.fixes = self.fixes, []
        fixes.sort(key=lambda f: f[1])
        course = self.course
        for athlete_id, t, lat, lon in fixes:
            r = self.runners[athlete_id]
            if r.t is not None and t <= r.t:
                continue
            idx = course.locate(lat, lon, r.idx)
            d = max(r.distance, course.cum[idx])
            if r.t is not None and t > r.t:
                r.speed += 0.2 * ((d - r.distance) / (t - r.t) - r.speed)
            r.lat, r.lon, r.t, r.idx, r.distance = lat, lon, t, idx, d
            r.status = "racing"
            r.dirty = True
        ranked = sorted(
            (r for r in self.runners.values() if r.t is not None), key=lambda r: (-r.distance, r.id)
        )
        for rank, r in enumerate(ranked, 1):
            if r.rank != rank:
                r.rank, r.dirty = rank, True
        self.leaders = [r.id for r in ranked[:LEADERS]]
        self.seq += 1
        self.t = round(now, 3)
        changed: dict[int, str] = {}
        length = course.length
        for r in self.runners.values():
            if not r.dirty:
                continue
            r.dirty = False
            assert r.lat is not None and r.lon is not None  # dirty: it has had a fix
            state = {
                "id": r.id,
                "bib": r.bib,
                "name": r.name,
                "lat": round(r.lat, 6),
                "lon": round(r.lon, 6),
                "t": r.t,
                "distance": round(r.distance, 1),
                "progress": round(min(1.0, r.distance / length), 4),
                "speed": round(r.speed, 2),
                "status": r.status,
                "rank": r.rank,
            }
            changed[r.id] = _dumps(state)
            entry = _dumps([r.id, round(r.lat, 5), round(r.lon, 5), round(r.distance), r.status])
            self.field[r.id] = self.field_changed[r.id] = entry
            if r.ws is not None:
                broadcast(
                    [r.ws],
                    _dumps(
                        {
                            "type": "state",
                            "distance": state["distance"],
                            "progress": state["progress"],
                            "rank": r.rank,
                            "status": r.status,
                        }
                    ),
                )
        self.states.update(changed)
        field_frame = None
        if self.seq % self.field_interval == 0:
            body = ",".join(self.field_changed.values())
            self.field_changed = {}
            field_frame = f'{{"type":"field","seq":{self.seq},"t":{self.t},"field":[{body}]}}'
        head = f'{{"type":"tick","seq":{self.seq},"t":{self.t},"athletes":['
        leaders = self.leaders
        for spec in list(self.spectators):
            ws = spec.ws
            transport = ws.transport
            if transport.get_write_buffer_size() > SLOW_BYTES:
                spec.resync = True
                self.stats["skipped_slow"] += 1
                continue
            if spec.resync:
                spec.resync = False
                broadcast([ws], self.snapshot(spec))
                continue
            focus = dict.fromkeys(leaders)
            focus.update(dict.fromkeys(spec.follows))
            states = ",".join(changed[a] for a in focus if a in changed)
            broadcast([ws], head + states + "]}")
            if field_frame is not None:
                broadcast([ws], field_frame)
        self.stats["ticks"] += 1

    async def ticker(self) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time() + 1.0
        while True:
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            if loop.time() - next_at > 0.5:
                self.stats["late_ticks"] += 1
            self.tick(time.time())
            next_at += 1.0
            if next_at < loop.time():
                next_at = loop.time() + 1.0


async def main_async(args: argparse.Namespace) -> None:
    race = json.loads(open(args.race).read())  # noqa: SIM115
    relay = Relay(race, race["course"], args.store)
    sock = socket.socket(fileno=args.fd)
    async with serve(
        relay.handler,
        sock=sock,
        ping_interval=None,
        compression=None,
        max_queue=64,
        write_limit=SLOW_BYTES,
        backlog=4096,
    ):
        tasks = [asyncio.ensure_future(relay.committer()), asyncio.ensure_future(relay.ticker())]
        print("ready", flush=True)
        stop = asyncio.get_running_loop().create_future()
        import signal

        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
        await stop
        for task in tasks:
            task.cancel()
    print(json.dumps(relay.stats), flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--fd", type=int, required=True, help="listening socket to accept on")
    p.add_argument("--race", required=True, help="JSON: create_test_race output + course coords")
    p.add_argument("--store", required=True, help="file the fixes are appended to")
    asyncio.run(main_async(p.parse_args()))


if __name__ == "__main__":
    main()
