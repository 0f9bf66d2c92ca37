"""The live benchmark's simulated people: phones moving along the course and sending
fixes, live pages reading (or, ``--client skim``, counting) frames, both reconnecting as
the real pages do; and what they measure."""

from __future__ import annotations

import array
import asyncio
import bisect
import functools
import json
import math
import random
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from bench.ws_client import WsClient

if TYPE_CHECKING:
    from bench.live_client import Loader

_SEQ = re.compile(rb'"seq":(\d+)')


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

    # Acks as (sent, ms): the parent cuts them into 5-s windows of sending time.
    acks: list[tuple[float, float]] = field(default_factory=list)


# --- the clients' reconnect rules (static/tracking/common.js, track.js) -----------------------

_LIVE_RETRY = re.compile(r"retry=(\d+)")  # common.js: /^retry=(\d+)$/ (the whole reason)
_TRACK_RETRY = re.compile(r"retry=(\d+(?:\.\d+)?)")  # track.js: anywhere in the reason


def backoff(attempt: int) -> float:
    """Both pages without a hint: min(60, 2^(attempt-1)) s times a jitter of 0.5 to 1."""
    return min(60.0, 2.0 ** (attempt - 1)) * (0.5 + random.random() / 2)


def live_page_delay(attempt: int, code: int | None, reason: str) -> float:
    """common.js ``reconnectDelay``: 1013 "retry=S" → S * (1 + rand/4), else backoff."""
    if code == 1013 and (m := _LIVE_RETRY.fullmatch(reason)):
        return int(m.group(1)) * (1 + random.random() / 4)
    return backoff(attempt)


def tracker_hint(code: int | None, reason: str) -> float | None:
    """track.js ``retryHint`` on a 1013 close: retry=S anywhere in the reason."""
    if code != 1013:
        return None
    m = _TRACK_RETRY.search(reason)
    return float(m.group(1)) if m else None


# --- people: one per simulated phone or page, over as many sockets as it takes ---------------

CONNECT_TIMEOUT_S = 60.0
DEAD_S = 25.0  # live.js DEAD_MS: a socket silent this long is closed and reconnected


class Conn(WsClient):
    """One socket of a person; a reconnect is a new ``Conn``."""

    def __init__(self, person: Person, path: str) -> None:
        lg = person.lg
        super().__init__(lg.host, lg.port, path)
        self.person = person
        self.served = False  # welcome (athlete) or first snapshot (spectator) on this socket
        self.opened = False  # the upgrade succeeded
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def on_open(self) -> None:
        self.opened = True
        self.person.on_open(self)

    def on_message(self, payload: bytes, nbytes: int) -> None:
        self.person.last_frame = time.time()
        self.person.on_message(self, payload, nbytes)

    def skim(self, head: bytes) -> bool:
        return not self.person.lg.full and head.startswith(b'{"type":"field"')

    def on_close(self) -> None:
        if not self.done.done():
            self.done.set_result(None)
        self.person.closed(self)


def _same(conn: Conn) -> Conn:
    return conn


class Person:
    """Arrives at ``arrive_at`` (epoch), connects, and reconnects as the pages do until the
    loader stops; records when it was served, the refusals it met and each loss of service."""

    kind = ""

    def __init__(self, lg: Loader, arrive_at: float) -> None:
        self.lg = lg
        self.arrive_at = arrive_at
        self.served_at: float | None = None
        self.conn: Conn | None = None
        self.attempt = 0
        self.gone = False  # told not to come back (4401, 4403, 4404)
        self.refusals: dict[str, int] = {}
        self.lost: list[list[float | None]] = []  # [lost at, served again at]
        self.last_frame = 0.0
        self.sock_at_kill: tuple[str, int] | None = None
        self.missed: list[tuple[float, int]] = []
        self.latency_at: list[tuple[float, float]] = []  # a sampled viewer's (received, ms)
        self.connects = 0

    def path(self) -> str:
        raise NotImplementedError

    def delay(self, conn: Conn) -> float:
        raise NotImplementedError

    def on_arrive(self) -> None: ...

    def on_open(self, conn: Conn) -> None: ...

    def on_message(self, conn: Conn, payload: bytes, nbytes: int) -> None: ...

    def refuse(self, what: str) -> None:
        self.refusals[what] = self.refusals.get(what, 0) + 1

    def served(self, conn: Conn) -> None:
        if conn.served:
            return
        conn.served = True
        now = time.time()
        if self.served_at is None:
            self.served_at = now
            self.lg.ready[self.kind] += 1
        elif self.lost and self.lost[-1][1] is None:
            self.lost[-1][1] = now

    def closed(self, conn: Conn) -> None:
        if self.lg.stopping:
            return
        if conn.http_status is not None:
            self.refuse(f"http_{conn.http_status}")
        elif conn.close_code == 1013:
            self.refuse("close_1013")
        elif not conn.served and conn.opened:
            self.refuse(f"closed_before_served_{conn.close_code or 1006}")
        if conn.served:
            self.lost.append([time.time(), None])
            # Not a refusal: the close code of a socket that was serving.
            self.refuse(f"lost_after_served_{conn.close_code or 1006}")

    async def live(self, sem: asyncio.Semaphore | None) -> None:
        lg = self.lg
        loop = asyncio.get_running_loop()
        await asyncio.sleep(max(0.0, self.arrive_at - time.time()))
        self.on_arrive()
        while not lg.stopping and not self.gone:
            conn = Conn(self, self.path())
            self.conn = conn
            self.connects += 1
            if sem is not None:
                await sem.acquire()
            try:
                async with asyncio.timeout(CONNECT_TIMEOUT_S):
                    await loop.create_connection(
                        functools.partial(_same, conn), lg.host, lg.port,
                        local_addr=(lg.cfg.source, 0),
                    )  # fmt: skip
                    await conn.ready
            except TimeoutError:
                self.refuse("timeout")
                if conn.transport is not None:
                    conn.transport.abort()
                elif not conn.done.done():
                    conn.done.set_result(None)
            except OSError:
                self.refuse("connect_error")
                if not conn.done.done():
                    conn.done.set_result(None)
            finally:
                if sem is not None:
                    sem.release()
                    sem = None  # the ramp's cap is for the first connection only
            await conn.done
            if lg.stopping or self.gone:
                break
            await asyncio.sleep(self.delay(conn))


class Phone(Person):
    """An athlete's phone as static/tracking/track.js drives it: a fix a second kept until
    acked, batches numbered only after a ``welcome`` (from its ``last_seq``), every unacked
    batch resent after each ``welcome``; ``hello`` carries the token."""

    kind = "athlete"

    def __init__(self, lg: Loader, info: dict[str, Any], speed: float, d0: float, at: float):
        super().__init__(lg, at)
        self.id = info["id"]
        self.token = info["token"]
        self.hello = json.dumps(
            {"type": "hello", "token": info["token"], "device": "Pace bench phone"}
        )
        self.speed, self.d0 = speed, d0
        self.next_seq = 1
        self.batches: dict[int, str] = {}  # unacked, numbered: seq -> frame text
        self.sent_at: dict[int, float] = {}
        self.pending: list[dict[str, float]] = []  # fixes not numbered yet
        self.acked: list[int] = []
        self.synced = False
        self.hint: float | None = None
        self.handle: asyncio.TimerHandle | None = None

    def path(self) -> str:
        # The baseline relay takes the token only in the URL (PROTOCOL.md allows both).
        return f"/ws/track/?token={self.token}" if self.lg.cfg.token_in_url else "/ws/track/"

    def on_arrive(self) -> None:
        self.handle = asyncio.get_running_loop().call_later(random.random(), self.fix)

    def on_open(self, conn: Conn) -> None:
        self.synced = False
        if not self.lg.cfg.token_in_url:
            conn.send_text(self.hello)

    def delay(self, conn: Conn) -> float:
        code = conn.close_code
        if code in (4401, 4403):
            self.gone = True
            return 0.0
        hint = tracker_hint(code, conn.close_reason)
        if hint is None and self.lg.cfg.honour_retry_after:
            hint = conn.retry_after
        hint = hint if hint is not None else self.hint
        self.hint = None
        if hint is not None:
            return hint * (1 + random.random() * 0.5)
        self.attempt += 1
        return backoff(self.attempt)

    def closed(self, conn: Conn) -> None:
        if conn is self.conn:
            self.synced = False
        if conn.served and not self.lg.stopping:
            self.lg.stats.athletes_closed += 1
        super().closed(conn)

    def on_message(self, conn: Conn, payload: bytes, nbytes: int) -> None:
        f = orjson.loads(payload)
        kind = f.get("type")
        st = self.lg.stats
        if kind == "ack":
            seq = f.get("seq")
            now = time.time()
            self.acked.append(seq)
            self.batches.pop(seq, None)
            sent = self.sent_at.pop(seq, None)
            if sent is not None:
                st.acks.append((sent, (now - sent) * 1000))
                if self.lg.window.inside(sent):
                    st.acks_window += 1
                    st.ack_latency_ms.append((now - sent) * 1000)
        elif kind == "state":
            st.state_frames += 1
        elif kind == "welcome":
            last = f.get("last_seq") or 0
            self.next_seq = max(self.next_seq, last + 1)
            self.attempt = 0
            for seq in [s for s in self.batches if s <= last]:
                del self.batches[seq]
                self.sent_at.pop(seq, None)
            self.synced = True
            self.served(conn)
            self.flush(conn)
        elif kind == "error":
            code = f.get("code", "?")
            st.athlete_errors[code] = st.athlete_errors.get(code, 0) + 1
            if code == "rate_limited" and f.get("limit") == "ws.connect.ip":
                self.hint = f.get("retry_after")

    def flush(self, conn: Conn) -> None:
        """Number what is pending (batches of up to 500 fixes), send what this socket has not."""
        while self.pending:
            chunk, self.pending = self.pending[:500], self.pending[500:]
            seq = self.next_seq
            self.next_seq += 1
            self.batches[seq] = json.dumps({"type": "pos", "seq": seq, "points": chunk})
        now = time.time()
        for seq in sorted(self.batches):
            conn.send_text(self.batches[seq])
            self.sent_at[seq] = now

    def fix(self) -> None:
        lg = self.lg
        if lg.stopping:
            return
        now = time.time()
        lat, lon = lg.course.at(self.d0 + self.speed * (now - lg.t0))
        point = {"t": round(now, 3), "lat": round(lat, 7), "lon": round(lon, 7), "spd": self.speed}
        self.pending.append(point)
        st = lg.stats
        st.fixes_sent += 1
        if lg.window.inside(now):
            st.fixes_sent_window += 1
        conn = self.conn
        if self.synced and conn is not None and conn.open:
            seq = self.next_seq
            self.next_seq += 1
            self.pending = []
            text = json.dumps({"type": "pos", "seq": seq, "points": [point]})
            self.batches[seq] = text
            conn.send_text(text)
            self.sent_at[seq] = now
        self.handle = asyncio.get_running_loop().call_later(1.0 - (time.time() - now), self.fix)


class Viewer(Person):
    """A spectator's live page as static/tracking/live.js drives it.

    ``--client full`` (the default): every frame is parsed (orjson) and its focus states
    applied to the viewer's own copy (by id); ``page`` also copies every field entry
    into the viewer's arrays (three floats and a status byte per athlete: a dict per
    viewer would not fit 20,000 viewers in memory), a Python loop per entry that costs
    about twice the parse. ``skim`` (the old generator): frames counted from their first
    bytes, big ``field`` frames dropped unread. A follow
    of 5 athletes is sent after the first snapshot (a visitor picking whom to follow)
    and on every later socket's open (the page keeps its follows); a tick gap asks for
    a new snapshot by sending the follow list again, as the page does.
    """

    kind = "spectator"

    def __init__(self, lg: Loader, follows: list[int], sampled: bool, at: float) -> None:
        super().__init__(lg, at)
        self.follows = follows
        self.follow_set = set(follows)
        self.follow_text = json.dumps({"type": "follow", "athletes": follows})
        self.sampled = sampled
        self.has_follows = False
        self.seq = 0
        self.gap = False
        self.snapshots = 0
        self.seen_t: dict[int, float] = {}
        self.states: dict[int, Any] = {}
        self.field: array.array[float] | None = None
        self.status: bytearray | None = None

    def path(self) -> str:
        return f"/ws/live/{self.lg.race_id}/"

    def on_open(self, conn: Conn) -> None:
        if self.has_follows:
            conn.send_text(self.follow_text)

    def delay(self, conn: Conn) -> float:
        if conn.close_code == 4404:
            self.gone = True
            return 0.0
        self.attempt += 1
        if self.lg.cfg.honour_retry_after and conn.retry_after is not None:
            return conn.retry_after * (1 + random.random() / 4)
        return live_page_delay(self.attempt, conn.close_code, conn.close_reason)

    def closed(self, conn: Conn) -> None:
        if conn.served and not self.lg.stopping:
            self.lg.stats.spectators_closed += 1
        super().closed(conn)

    def on_message(self, conn: Conn, payload: bytes, nbytes: int) -> None:
        lg = self.lg
        st = lg.stats
        now = time.time()
        if lg.window.inside(now):
            st.frames_window += 1
            st.bytes_window += nbytes
            k = payload[9:13].decode(errors="replace")
            st.frames_by_type[k] = st.frames_by_type.get(k, 0) + 1
        if lg.full:
            self.apply(conn, orjson.loads(payload), now)
        else:
            self.count(conn, payload, now)

    # the page's handlers
    def apply(self, conn: Conn, f: dict[str, Any], now: float) -> None:
        kind = f.get("type")
        if kind == "tick":
            seq = f["seq"]
            if seq <= self.seq:
                return
            if self.seq and seq > self.seq + 1:
                self.on_gap(conn, seq, now)
                return
            self.on_tick(seq, f["t"], now)
            states = self.states
            measure = self.sampled and self.lg.window.inside(now)
            for a in f["athletes"]:
                states[a["id"]] = a
                if measure:
                    self.measure(a, now)
        elif kind == "field":
            self.apply_field(f["field"])
        elif kind == "snapshot":
            self.on_snapshot(conn, f["seq"], now)
            self.states = {a["id"]: a for a in f["athletes"]}
            self.apply_field(f["field"])
            if self.sampled:
                for a in f["athletes"]:
                    if a["id"] in self.follow_set and a.get("t") is not None:
                        self.seen_t[a["id"]] = a["t"]

    def apply_field(self, entries: list[list[Any]]) -> None:
        if not self.lg.apply_field:
            return  # parsed (the bytes were read and decoded), not copied
        index = self.lg.index
        if self.field is None:
            self.field = array.array("f", bytes(12 * len(index)))
            self.status = bytearray(len(index))
        fld, status, codes = self.field, self.status, STATUS_CODES
        for e in entries:
            i = index.get(e[0])
            if i is not None:
                # Not started yet: no position (null), as the page keeps it.
                fld[3 * i], fld[3 * i + 1], fld[3 * i + 2] = e[1] or 0.0, e[2] or 0.0, e[3] or 0.0
                status[i] = codes.get(e[4], 0)  # type: ignore[index]

    def measure(self, a: dict[str, Any], now: float) -> None:
        aid, t = a["id"], a.get("t")
        if aid in self.follow_set and t is not None and t != self.seen_t.get(aid):
            self.seen_t[aid] = t
            ms = (now - t) * 1000
            self.lg.stats.latency_ms.append(ms)
            self.latency_at.append((now, ms))

    def on_tick(self, seq: int, t: float, now: float) -> None:
        st = self.lg.stats
        self.seq = seq
        if seq > st.max_seq:
            st.max_seq = seq
        if self.lg.window.inside(now):
            st.ticks_window += 1
            if self.sampled:
                st.tick_latency_ms.append((now - t) * 1000)

    def on_gap(self, conn: Conn, seq: int, now: float) -> None:
        # live.js: a gap sends the follow list again (a fresh snapshot answers it) and
        # skips the tick; it does so on every tick until that snapshot arrives. Counted
        # once per gap.
        if not self.gap:
            self.gap = True
            missed = seq - self.seq - 1
            self.missed.append((now, missed))
            if self.lg.window.inside(now):
                self.lg.stats.missed_ticks += missed
                self.lg.stats.resyncs += 1
        conn.send_text(self.follow_text)

    def on_snapshot(self, conn: Conn, seq: int, now: float) -> None:
        self.snapshots += 1
        self.gap = False
        self.seq = seq
        self.attempt = 0
        self.served(conn)
        if not self.has_follows:
            self.has_follows = True
            conn.send_text(self.follow_text)

    # the skimming generator (--client skim): counts from the first bytes
    def count(self, conn: Conn, payload: bytes, now: float) -> None:
        kind = payload[9:13]
        if kind == b"tick":
            end = payload.find(b",", 21)
            seq = int(payload[21:end])
            if seq <= self.seq:
                return
            if self.seq and seq > self.seq + 1:
                self.on_gap(conn, seq, now)
                return
            t_end = payload.find(b",", end + 5)
            self.on_tick(seq, float(payload[end + 5 : t_end]), now)
            if self.sampled and self.lg.window.inside(now):
                for a in orjson.loads(payload)["athletes"]:
                    self.measure(a, now)
        elif kind == b"snap":
            m = _SEQ.search(payload)
            self.on_snapshot(conn, int(m.group(1)) if m else 0, now)
            if self.sampled:
                for a in orjson.loads(payload)["athletes"]:
                    if a["id"] in self.follow_set and a.get("t") is not None:
                        self.seen_t[a["id"]] = a["t"]


STATUS_CODES = {
    "not_started": 1, "racing": 2, "stopped": 3, "finished": 4, "dnf": 5, "lost_signal": 6,
}  # fmt: skip
