"""Load generator of the live tracking benchmark: simulated athletes and spectators.

One loader process runs a share of the athletes and spectators over a minimal
WebSocket client of its own (``asyncio.Protocol``, RFC 6455 framing, no
extensions): on a 2-core machine that also runs the servers, the generator must
cost little per frame, and most spectators only count frames and bytes (they
look at the first few bytes of a frame for its type and ``seq``, never decode
it). Everything it measures is measured here and sent back to the parent
(``bench.live``) through a pipe:

- athletes: one ``pos`` frame a second (one point, moving along the course),
  which ``seq`` were acked and when (ack latency), the whole acked set (the parent
  checks it against the database);
- spectators: frames and bytes received in the measured window, tick ``seq``
  gaps (missed ticks), extra snapshots (resyncs);
- sampled spectators (``--sample``): the fix → screen latency of the athletes they
  follow: receive time minus the fix time ``t`` inside the state object (the
  athletes' clock is this machine's clock).
"""

from __future__ import annotations

import asyncio
import base64
import bisect
import contextlib
import json
import math
import os
import random
import re
import signal
import time
from dataclasses import dataclass, field
from typing import Any

import uvloop

CONNECT_TIMEOUT_S = 60.0
CONNECT_ATTEMPTS = 5  # a client whose handshake fails tries again (after a pause), as apps do
_SEQ = re.compile(rb'"seq":(\d+)')
SKIM_BYTES = 16_384  # frames this big whose body is not read are not gathered


# --- the course ------------------------------------------------------------------------


class Course:
    """A LineString of [lon, lat, ...] walked by distance (a loop: distance modulo length)."""

    def __init__(self, coords: list[list[float]]) -> None:
        self.pts = [(c[1], c[0]) for c in coords]
        self.cum = [0.0]
        for (a_lat, a_lon), (b_lat, b_lon) in zip(self.pts, self.pts[1:], strict=False):
            k = math.cos(math.radians((a_lat + b_lat) / 2))
            dy = (b_lat - a_lat) * 111_195.0
            dx = (b_lon - a_lon) * 111_195.0 * k
            self.cum.append(self.cum[-1] + math.hypot(dx, dy))
        self.length = self.cum[-1]

    def at(self, d: float) -> tuple[float, float]:
        d = d % self.length if self.length else 0.0
        i = max(1, bisect.bisect_right(self.cum, d))
        if i >= len(self.pts):
            return self.pts[-1]
        d0, d1 = self.cum[i - 1], self.cum[i]
        f = (d - d0) / (d1 - d0) if d1 > d0 else 0.0
        (a_lat, a_lon), (b_lat, b_lon) = self.pts[i - 1], self.pts[i]
        return a_lat + f * (b_lat - a_lat), a_lon + f * (b_lon - a_lon)


# --- a minimal WebSocket client ------------------------------------------------------------


def _mask(payload: bytes) -> bytes:
    """Client frames are masked (RFC 6455 §5.3): a random key, XOR as one big integer."""
    key = os.urandom(4)
    n = len(payload)
    reps = key * (n // 4 + 1)
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(reps[:n], "big")).to_bytes(n, "big")
    return key + masked


def encode_frame(payload: bytes, opcode: int = 1) -> bytes:
    n = len(payload)
    if n < 126:
        head = bytes((0x80 | opcode, 0x80 | n))
    elif n < 65536:
        head = bytes((0x80 | opcode, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 0x80 | 127)) + n.to_bytes(8, "big")
    return head + (_mask(payload) if n else os.urandom(4))


class WsClient(asyncio.Protocol):
    """Handshake, then whole messages to ``on_message(payload: bytes, nbytes)``; pongs pings."""

    # What a subclass's __init__ was given, to start it over on a retried connection.
    init_args: tuple[Any, ...]

    def __init__(self, host: str, port: int, path: str) -> None:
        self.request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}"
            f"\r\nSec-WebSocket-Version: 13\r\nOrigin: http://{host}:{port}\r\n\r\n"
        ).encode()
        self.buf = bytearray()
        self.open = False
        self.closed = False
        self.transport: asyncio.Transport | None = None
        self.ready: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.parts: list[bytes] = []
        self.close_code: int | None = None
        # A big frame whose body nobody reads (``skim``): its first bytes and size, and
        # how many of its bytes are still to come and be dropped.
        self.skimmed: tuple[bytes, int] | None = None
        self.skipping = 0

    # asyncio callbacks
    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.open = False
        if not self.ready.done():
            self.ready.set_result(False)
        self.on_close()

    def data_received(self, data: bytes) -> None:  # noqa: C901
        if self.skipping:  # the rest of a skimmed frame: dropped, not copied
            if len(data) < self.skipping:
                self.skipping -= len(data)
                return
            data = data[self.skipping :]
            self.skipping = 0
            head, nbytes = self.skimmed  # type: ignore[misc]
            self.skimmed = None
            self.on_message(head, nbytes)
        buf = self.buf
        buf += data
        if not self.open:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(buf[:end])
            del buf[: end + 4]
            if not status.startswith(b"HTTP/1.1 101"):
                if not self.ready.done():
                    self.ready.set_result(False)
                self.transport.close()  # type: ignore[union-attr]
                return
            self.open = True
            if not self.ready.done():
                self.ready.set_result(True)
        while True:
            n = len(buf)
            if n < 2:
                return
            b0, b1 = buf[0], buf[1] & 0x7F
            if b1 < 126:
                start, size = 2, b1
            elif b1 == 126:
                if n < 4:
                    return
                start, size = 4, int.from_bytes(buf[2:4], "big")
            else:
                if n < 10:
                    return
                start, size = 10, int.from_bytes(buf[2:10], "big")
            if n < start + size:
                if size >= SKIM_BYTES and b0 == 0x81 and n >= start + 16 and not self.parts:
                    head = bytes(buf[start : start + 64])
                    if self.skim(head):
                        # Only its head is read: keep that, drop the rest as it comes
                        # instead of gathering 200 KB (a big race's field) to look at 16.
                        self.skimmed, self.skipping = (head, start + size), start + size - n
                        buf.clear()
                return
            payload = bytes(buf[start : start + size])
            del buf[: start + size]
            opcode = b0 & 0x0F
            if opcode in (1, 2, 0):
                if not b0 & 0x80:
                    self.parts.append(payload)
                    continue
                if self.parts:
                    payload = b"".join([*self.parts, payload])
                    self.parts = []
                self.on_message(payload, start + size)
            elif opcode == 9:
                self.send_raw(encode_frame(payload, 10))
            elif opcode == 8:
                self.close_code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
                self.send_raw(encode_frame(payload[:2], 8))
                self.transport.close()  # type: ignore[union-attr]
                return

    def send_raw(self, frame: bytes) -> None:
        transport = self.transport
        if transport is not None and not self.closed and not transport.is_closing():
            transport.write(frame)  # uvloop raises on a closed transport

    def send_text(self, text: str) -> None:
        self.send_raw(encode_frame(text.encode()))

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.send_raw(encode_frame(b"\x03\xe8", 8))
            self.transport.close()

    # for subclasses
    def on_message(self, payload: bytes, nbytes: int) -> None: ...

    def skim(self, head: bytes) -> bool:
        """Whether ``on_message`` needs only the first 64 bytes of a big text frame
        starting with ``head`` (it then gets them, with the frame's whole size, once the
        frame has arrived)."""
        return False

    def on_close(self) -> None: ...


# --- measurement ---------------------------------------------------------------------------


@dataclass
class Window:
    measure_from: float = math.inf  # time.time()
    end: float = math.inf

    def inside(self, now: float) -> bool:
        return self.measure_from <= now < self.end


@dataclass
class Stats:
    fixes_sent: int = 0
    fixes_sent_window: int = 0
    acks_window: int = 0
    ack_latency_ms: list[float] = field(default_factory=list)
    athlete_errors: dict[str, int] = field(default_factory=dict)
    athletes_closed: int = 0
    state_frames: int = 0
    frames_window: int = 0
    bytes_window: int = 0
    frames_by_type: dict[str, int] = field(default_factory=dict)
    ticks_window: int = 0
    missed_ticks: int = 0
    resyncs: int = 0
    spectators_closed: int = 0
    latency_ms: list[float] = field(default_factory=list)
    tick_latency_ms: list[float] = field(default_factory=list)  # the tick's own t → screen
    seq_at_start: int = 0
    seq_at_end: int = 0
    max_seq: int = 0


class Athlete(WsClient):
    def __init__(self, lg: Loader, info: dict[str, Any], speed: float, d0: float) -> None:
        self.init_args = (lg, info, speed, d0)
        super().__init__(lg.host, lg.port, f"/ws/track/?token={info['token']}")
        self.lg = lg
        self.id = info["id"]
        self.speed, self.d0 = speed, d0
        self.seq = 0
        self.sent: dict[int, float] = {}
        self.acked: list[int] = []
        self.welcomed = False
        self.handle: asyncio.TimerHandle | None = None

    def on_message(self, payload: bytes, nbytes: int) -> None:
        st = self.lg.stats
        kind = payload[9:14]
        if kind == b'ack",':
            m = _SEQ.search(payload)
            seq = int(m.group(1)) if m else -1
            now = time.time()
            sent = self.sent.pop(seq, None)
            self.acked.append(seq)
            if sent is not None and self.lg.window.inside(sent):
                st.acks_window += 1
                st.ack_latency_ms.append((now - sent) * 1000)
        elif kind == b"state":
            st.state_frames += 1
        elif kind == b"welco":
            msg = json.loads(payload)
            self.seq = msg.get("last_seq") or 0
            self.welcomed = True
            self.lg.athletes_ready += 1
            self.schedule(random.random())
        elif kind == b"error":
            code = json.loads(payload).get("code", "?")
            st.athlete_errors[code] = st.athlete_errors.get(code, 0) + 1

    def schedule(self, delay: float) -> None:
        self.handle = asyncio.get_running_loop().call_later(delay, self.fix)

    def fix(self) -> None:
        if self.closed or self.lg.stopping:
            return
        now = time.time()
        lat, lon = self.lg.course.at(self.d0 + self.speed * (now - self.lg.t0))
        self.seq += 1
        point = {"t": round(now, 3), "lat": round(lat, 7), "lon": round(lon, 7), "spd": self.speed}
        self.send_text(json.dumps({"type": "pos", "seq": self.seq, "points": [point]}))
        self.sent[self.seq] = now
        st = self.lg.stats
        st.fixes_sent += 1
        if self.lg.window.inside(now):
            st.fixes_sent_window += 1
        self.schedule(1.0 - (time.time() - now))

    def on_close(self) -> None:
        if self.welcomed and not self.lg.stopping:
            self.lg.stats.athletes_closed += 1


class Spectator(WsClient):
    def __init__(self, lg: Loader, follows: list[int], sampled: bool) -> None:
        self.init_args = (lg, follows, sampled)
        super().__init__(lg.host, lg.port, f"/ws/live/{lg.race_id}/")
        self.lg = lg
        self.follows = follows
        self.follow_set = set(follows)
        self.sampled = sampled
        self.followed = False
        self.snapshots = 0
        self.seq = 0
        self.seen_t: dict[int, float] = {}

    def on_message(self, payload: bytes, nbytes: int) -> None:  # noqa: C901
        lg = self.lg
        st = lg.stats
        now = time.time()
        inside = lg.window.inside(now)
        kind = payload[9:13]
        if inside:
            st.frames_window += 1
            st.bytes_window += nbytes
            k = kind.decode(errors="replace")
            st.frames_by_type[k] = st.frames_by_type.get(k, 0) + 1
        if kind == b"tick":
            end = payload.find(b",", 21)
            seq = int(payload[21:end])
            if seq > self.seq + 1 and self.seq and inside:
                st.missed_ticks += seq - self.seq - 1
            if seq > self.seq:
                self.seq = seq
            if inside:
                st.ticks_window += 1
            if seq > st.max_seq:
                st.max_seq = seq
            if self.sampled and inside:
                t_end = payload.find(b",", end + 5)
                st.tick_latency_ms.append((now - float(payload[end + 5 : t_end])) * 1000)
                for state in json.loads(payload)["athletes"]:
                    a, t = state["id"], state.get("t")
                    if a in self.follow_set and t is not None and t != self.seen_t.get(a):
                        self.seen_t[a] = t
                        st.latency_ms.append((now - t) * 1000)
        elif kind == b"snap":
            self.snapshots += 1
            m = _SEQ.search(payload)
            seq = int(m.group(1)) if m else 0
            if self.snapshots > 2 and inside:
                st.resyncs += 1
                if self.seq and seq > self.seq + 1:
                    st.missed_ticks += seq - self.seq - 1
            self.seq = max(self.seq, seq)
            if self.sampled:
                for state in json.loads(payload)["athletes"]:
                    if state["id"] in self.follow_set and state.get("t") is not None:
                        self.seen_t[state["id"]] = state["t"]
            if not self.followed:
                self.followed = True
                self.send_text(json.dumps({"type": "follow", "athletes": self.follows}))
                lg.spectators_ready += 1

    def skim(self, head: bytes) -> bool:
        return head.startswith(b'{"type":"field"')  # counted, never decoded

    def on_close(self) -> None:
        if self.followed and not self.lg.stopping:
            self.lg.stats.spectators_closed += 1


# --- one loader process ----------------------------------------------------------------------


@dataclass
class LoaderConfig:
    index: int
    host: str
    port: int
    source: str  # local address the clients bind to (127.0.0.2, ...)
    race_id: int
    athletes: list[dict[str, Any]]  # {id, token}
    all_ids: list[int]
    spectators: int
    sample: float
    follows: int
    course: list[list[float]]
    connect_rate: float = 100.0  # new connections a second (this loader's share)
    connect_concurrency: int = 16  # handshakes in flight (this loader's share)
    ramp_s: float = 240.0  # connecting stops after this; those not connected count as failed
    seed: int = 0


class Loader:
    def __init__(self, cfg: LoaderConfig, conn: Any) -> None:
        self.cfg = cfg
        self.conn = conn
        self.host, self.port, self.race_id = cfg.host, cfg.port, cfg.race_id
        self.course = Course(cfg.course)
        self.stats = Stats()
        self.window = Window()
        self.stopping = False
        self.t0 = time.time()
        self.athletes: list[Athlete] = []
        self.spectators: list[Spectator] = []
        self.athletes_ready = 0
        self.spectators_ready = 0
        self.connect_failed = {"athlete": 0, "spectator": 0}
        self.connect_retried = {"athlete": 0, "spectator": 0}
        self.ramp_cut = {"athlete": 0, "spectator": 0}  # still connecting when the ramp ended
        self.connect_ms: dict[str, list[float]] = {"athlete": [], "spectator": []}
        self.sem = asyncio.Semaphore(max(1, cfg.connect_concurrency))

    async def _connect(self, client: WsClient, kind: str, at: float = 0.0) -> bool:
        loop = asyncio.get_running_loop()
        await asyncio.sleep(max(0.0, at - loop.time()))
        for attempt in range(CONNECT_ATTEMPTS):
            if attempt:
                self.connect_retried[kind] += 1
                await asyncio.sleep(random.uniform(1.0, 3.0))
                # Started over in place (the loader holds this object); mypy cannot know
                # the subclass's __init__ matches init_args.
                client.__init__(*client.init_args)  # type: ignore[misc]
            async with self.sem:
                t = time.monotonic()
                try:
                    async with asyncio.timeout(CONNECT_TIMEOUT_S):
                        await loop.create_connection(
                            lambda: client, self.host, self.port, local_addr=(self.cfg.source, 0)
                        )
                        ok = await client.ready
                except (OSError, TimeoutError):
                    ok = False
                if ok:
                    self.connect_ms[kind].append((time.monotonic() - t) * 1000)
                    return True
                client.close()
        self.connect_failed[kind] += 1
        return False

    async def _ramp(self, coros: list[Any], kind: str, end: float) -> None:
        tasks = [asyncio.ensure_future(c) for c in coros]
        timeout = max(0.1, end - asyncio.get_running_loop().time())
        _, pending = await asyncio.wait(tasks, timeout=timeout)
        for t in pending:
            t.cancel()
        self.connect_failed[kind] += len(pending)
        self.ramp_cut[kind] += len(pending)

    async def _wait_parent(self) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self.conn.recv)

    async def run(self) -> None:
        rng = random.Random(self.cfg.seed * 7919 + self.cfg.index)
        loop = asyncio.get_running_loop()
        t = time.monotonic()
        for info in self.cfg.athletes:
            a = Athlete(self, info, speed=rng.uniform(2.5, 4.5), d0=rng.uniform(0, 300))
            self.athletes.append(a)
        rate = max(1.0, self.cfg.connect_rate)
        t1 = loop.time()
        ramp_end = t1 + self.cfg.ramp_s
        await self._ramp(
            [self._connect(a, "athlete", t1 + i / rate) for i, a in enumerate(self.athletes)],
            "athlete",
            ramp_end,
        )
        athletes_s = time.monotonic() - t
        n_sampled = (
            max(1, round(self.cfg.spectators * self.cfg.sample)) if self.cfg.spectators else 0
        )
        for i in range(self.cfg.spectators):
            follows = rng.sample(self.cfg.all_ids, min(self.cfg.follows, len(self.cfg.all_ids)))
            self.spectators.append(Spectator(self, follows, sampled=i < n_sampled))
        t = time.monotonic()
        t1 = loop.time()
        await self._ramp(
            [self._connect(s, "spectator", t1 + i / rate) for i, s in enumerate(self.spectators)],
            "spectator",
            ramp_end,
        )
        for c in [*self.athletes, *self.spectators]:
            if not c.open:
                c.close()  # cut off by the ramp's end: not left half-open
        deadline = time.monotonic() + 30
        while self.spectators_ready < sum(1 for s in self.spectators if s.open):
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        spectators_s = time.monotonic() - t
        self.conn.send(
            {
                "phase": "connected",
                "athletes": self.athletes_ready,
                "spectators": self.spectators_ready,
                "connect_failed": self.connect_failed,
                "connect_retried": self.connect_retried,
                "ramp_cut": self.ramp_cut,
                "athletes_connect_s": round(athletes_s, 1),
                "spectators_connect_s": round(spectators_s, 1),
            }
        )
        cmd = await self._wait_parent()
        self.window.measure_from, self.window.end = cmd["measure_from"], cmd["end"]
        await asyncio.sleep(max(0.0, self.window.measure_from - time.time()))
        cpu0 = time.process_time()
        self.stats.seq_at_start = self.stats.max_seq
        await asyncio.sleep(max(0.0, self.window.end - time.time()))
        cpu1 = time.process_time()
        self.stats.seq_at_end = self.stats.max_seq
        open_athletes = sum(1 for a in self.athletes if a.open)
        open_spectators = sum(1 for s in self.spectators if s.open)
        # Stop sending fixes; give the outstanding ones time to be acked.
        self.stopping = True
        for a in self.athletes:
            if a.handle:
                a.handle.cancel()
        grace = time.monotonic() + cmd.get("ack_grace", 10.0)
        while time.monotonic() < grace and any(a.sent and a.open for a in self.athletes):
            await asyncio.sleep(0.2)
        unacked = sum(len(a.sent) for a in self.athletes)
        for c in [*self.athletes, *self.spectators]:
            c.close()
        await asyncio.sleep(0.5)
        st = self.stats
        self.conn.send(
            {
                "phase": "done",
                "loader": self.cfg.index,
                "cpu_s": round(cpu1 - cpu0, 3),
                "open_athletes_at_end": open_athletes,
                "open_spectators_at_end": open_spectators,
                "unacked_after_grace": unacked,
                "acked": {a.id: a.acked for a in self.athletes},
                "connect_ms": self.connect_ms,
                "stats": st.__dict__,
            }
        )


def _yield_to_servers() -> None:
    """Schedule this process as a batch job (Linux): its wake-ups do not preempt a running
    server process.

    Every frame a server writes to a socket of ours wakes this process up, and the
    kernel's scheduler lets a task that slept preempt the one running: a daphne process
    writing a tick to 12,500 sockets was interrupted by a loader up to once per write,
    which then handled one frame and slept again, a pair of context switches per frame
    that a server talking to remote clients never pays. ``SCHED_BATCH`` turns only that
    wake-up preemption off; this process still gets its fair share of the CPU, a few
    milliseconds later (which the latencies it measures include)."""
    with contextlib.suppress(AttributeError, OSError):  # not Linux: as it is
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))


def run_loader(cfg: LoaderConfig, conn: Any) -> None:
    """Entry point of a loader process (multiprocessing target)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us
    try:
        import resource

        _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ImportError, ValueError, OSError):
        pass
    _yield_to_servers()
    try:
        # libuv's loop: the load generator shares the machine with Pace, so the less CPU
        # it spends per socket event the more is left to what is measured.
        uvloop.run(Loader(cfg, conn).run())
    except Exception as exc:  # report, do not hang the parent
        conn.send({"phase": "error", "error": repr(exc)})
        raise
