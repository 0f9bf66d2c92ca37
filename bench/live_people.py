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

from bench import http_fetch
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
    # The page's HTTP fetches (--spectators page-lean): field.json, roster.json.
    http_requests: int = 0
    http_bytes: int = 0
    http_requests_window: int = 0
    http_bytes_window: int = 0
    http_status: dict[str, int] = field(default_factory=dict)
    field_wait_s: list[float] = field(default_factory=list)  # arrival → first field.json
    seq_at_start: int = 0
    seq_at_end: int = 0
    max_seq: int = 0

    # Acks as (sent, ms): the parent cuts them into 5-s windows of sending time.
    acks: list[tuple[float, float]] = field(default_factory=list)


# --- the clients' reconnect rule (static/tracking/common.js retryHint + reconnectDelay) ---------

# A 1013 close's reason holding "retry=S" as a token (common.js retryHint).
_RETRY = re.compile(r"(?:^|[\s;,])retry=(\d+(?:\.\d+)?)(?:$|[\s;,])")


def reconnect_delay(attempt: int, code: int | None, reason: str, hint: float | None) -> float:
    """Seconds before the ``attempt``th reconnect (1, 2, ...: every failed socket counts,
    hinted or not) of a socket closed with ``code``/``reason``, or told ``hint`` s (the
    tracker's rate_limited error frame): one rule for the live page, the embed and the
    tracker. The server's retry=S when it gave one, never under 1 s, else backoff from 1 s
    to 60 s; each times 1 to 1.5 of jitter (the backoff capped at 60 s)."""
    m = _RETRY.search(reason) if code == 1013 else None
    asked = float(m.group(1)) if m else hint
    jitter = 1 + random.random() / 2
    if asked is not None:
        return max(1.0, asked) * jitter
    return min(60.0, min(60.0, 2.0 ** max(0, attempt - 1)) * jitter)


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
        self.record: list[Any] | None = None  # [host, port, connected at, closed at]

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        host, port = transport.get_extra_info("sockname")[:2]
        self.record = [host, port, time.time(), None]
        self.person.sockets.append(self.record)

    def on_open(self) -> None:
        self.opened = True
        self.person.on_open(self)

    def on_message(self, payload: bytes, nbytes: int) -> None:
        self.person.last_frame = time.time()
        self.person.on_message(self, payload, nbytes)

    def skim(self, head: bytes) -> bool:
        return not self.person.lg.full and head.startswith(b'{"type":"field"')

    def on_close(self) -> None:
        if self.record is not None:
            self.record[3] = time.time()
        if not self.done.done():
            self.done.set_result(None)
        self.person.closed(self)


def _same(conn: Conn) -> Conn:
    return conn


class Person:
    """Arrives at ``arrive_at`` (epoch), connects, and reconnects as the pages do until the
    loader stops; records when it was served, the refusals it met and each loss of service."""

    kind = ""
    connect_timeout = CONNECT_TIMEOUT_S  # to the upgrade's answer
    timeout_label = "timeout"

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
        # Every TCP connection it made: [its host, its port, connected at, closed at]; the
        # restart scenario finds in it the socket each held when a process was killed.
        self.sockets: list[list[Any]] = []
        self.missed: list[tuple[float, int]] = []
        self.latency_at: list[tuple[float, float]] = []  # a sampled viewer's (received, ms)
        self.connects = 0

    def path(self) -> str:
        raise NotImplementedError

    def delay(self, conn: Conn) -> float:
        raise NotImplementedError

    def on_arrive(self) -> None: ...

    def on_start(self, conn: Conn) -> None:
        """A socket is being opened."""

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
            self.last_frame = time.time()  # live.js connect(): lastFrame = now
            if sem is not None:
                await sem.acquire()
            self.on_start(conn)
            try:
                async with asyncio.timeout(self.connect_timeout):
                    await loop.create_connection(
                        functools.partial(_same, conn), lg.host, lg.port,
                        local_addr=(lg.cfg.source, 0),
                    )  # fmt: skip
                    await conn.ready
            except TimeoutError:
                self.refuse(self.timeout_label)
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
        self.batches: dict[int, bytes] = {}  # unacked, numbered: seq -> frame (UTF-8 JSON)
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
        hint, self.hint = self.hint, None  # an error frame's retry_after, on this socket
        if hint is None and self.lg.cfg.honour_retry_after:
            hint = conn.retry_after
        self.attempt += 1
        return reconnect_delay(self.attempt, code, conn.close_reason, hint)

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
            self.batches[seq] = orjson.dumps({"type": "pos", "seq": seq, "points": chunk})
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
            # orjson: 5,000 phones a second on the machine measured; json.dumps took 3.4 us more.
            text = orjson.dumps({"type": "pos", "seq": seq, "points": [point]})
            self.batches[seq] = text
            conn.send_text(text)
            self.sent_at[seq] = now
        self.handle = asyncio.get_running_loop().call_later(1.0 - (time.time() - now), self.fix)


class Viewer(Person):
    """A spectator's live page as static/tracking/live.js drives it.

    ``--client full`` (the default): every frame is read whole and parsed (orjson), its
    seq checked and the followed athletes' times measured; ``page`` also keeps the page's
    copies: the focus states by id, and every field entry in the viewer's arrays (three
    floats and a status byte per athlete: a dict per viewer would not fit 20,000 viewers
    in memory), a Python loop per entry that costs about twice the parse. ``skim`` (the
    old generator): frames counted from their first bytes, big ``field`` frames dropped
    unread. A follow of 5 athletes is sent after the first snapshot (a visitor picking
    whom to follow) and on every later socket's open (the page keeps its follows); a tick
    gap asks for a new snapshot by sending the follow list again, as the page does.
    """

    kind = "spectator"
    # live.js DEAD_MS: a socket with no snapshot this long after it was opened is closed
    # and another opened (the upgrade's answer included).
    connect_timeout = DEAD_S
    timeout_label = "no_snapshot_25s"

    def __init__(self, lg: Loader, follows: list[int], sampled: bool, at: float) -> None:
        super().__init__(lg, at)
        self.page = PageFetches(self) if lg.cfg.spectators == "page-lean" else None
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
        lean = "?field=later" if self.page is not None else ""
        return f"/ws/live/{self.lg.race_id}/{lean}"

    def on_arrive(self) -> None:
        if self.page is not None:  # live.js as it starts: loadField(); loadRoster(); connect()
            self.page.load_field()
            self.page.load_roster()

    def on_start(self, conn: Conn) -> None:
        asyncio.get_running_loop().call_later(DEAD_S, self.no_snapshot, conn)

    def no_snapshot(self, conn: Conn) -> None:
        # Before the upgrade's answer the connect's own timeout (also DEAD_S) closes it.
        if conn.opened and not conn.served and not conn.done.done() and not self.lg.stopping:
            self.refuse(self.timeout_label)
            conn.close()

    def on_open(self, conn: Conn) -> None:
        if self.has_follows:
            conn.send_text(self.follow_text)

    def delay(self, conn: Conn) -> float:
        if conn.close_code == 4404:
            self.gone = True
            return 0.0
        self.attempt += 1
        hint = conn.retry_after if self.lg.cfg.honour_retry_after else None
        return reconnect_delay(self.attempt, conn.close_code, conn.close_reason, hint)

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
            if self.lg.page_copies:
                states = self.states
                for a in f["athletes"]:
                    states[a["id"]] = a
            if self.sampled and self.lg.window.inside(now):
                for a in f["athletes"]:
                    self.measure(a, now)
        elif kind == "field":
            self.apply_field(f["field"])
        elif kind == "snapshot":
            self.apply_snapshot(conn, f, now)

    def apply_snapshot(self, conn: Conn, f: dict[str, Any], now: float) -> None:
        again = self.snapshots > 0
        self.on_snapshot(conn, f["seq"], now)
        if self.lg.page_copies:
            self.states = {a["id"]: a for a in f["athletes"]}
        self.apply_field(f["field"])
        if self.page is not None:
            self.page.on_snapshot(f.get("race") or {}, f["seq"], again)
        if self.sampled:
            for a in f["athletes"]:
                if a["id"] in self.follow_set and a.get("t") is not None:
                    self.seen_t[a["id"]] = a["t"]

    def apply_field(self, entries: list[list[Any]]) -> None:
        if not self.lg.page_copies:
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
            again = self.snapshots > 0
            self.on_snapshot(conn, int(m.group(1)) if m else 0, now)
            if self.page is not None:
                snap = orjson.loads(payload)
                self.page.on_snapshot(snap.get("race") or {}, snap["seq"], again)
            if self.sampled:
                for a in orjson.loads(payload)["athletes"]:
                    if a["id"] in self.follow_set and a.get("t") is not None:
                        self.seen_t[a["id"]] = a["t"]


STATUS_CODES = {
    "not_started": 1, "racing": 2, "stopped": 3, "finished": 4, "dnf": 5, "lost_signal": 6,
}  # fmt: skip


# --- the live page's HTTP fetches (live.js loadField, loadRoster, fieldPeriod) ------------------

FIELD_MAX_AGE_S = 60  # field.json refreshed while the socket's field frames are further apart
FIELD_PERIOD_MAX_S = 55
# The page's budget for field.json (live.js fieldBudget): 4,750 B/s less one refresh
# spread over two minutes, less what the socket takes. The page measures its socket's rate;
# these viewers take the rate the focus's ticks are meant to take.
LIVE_BYTES_PER_S = 4750
LIVE_WINDOW_S = 120
SOCKET_GUESS_BYTES_PER_S = 2500
FIELD_HTTP_MIN_BYTES_PER_S = 500
FIELD_GUESS_BYTES = 30  # an athlete in field.json compressed, until one is measured
FETCH_RETRY_S = 5.0  # a failed first field (or roster) fetch is tried again this much later
FETCH_TIMEOUT_S = 60.0


def fetch_failure(error: BaseException) -> str:
    """How a page's fetch failed, as its refusal is counted: no answer within
    FETCH_TIMEOUT_S (a busy server, or a loader too late to read it), the connection
    refused, reset or cut short, or an answer that is not HTTP."""
    if isinstance(error, TimeoutError):  # an OSError too: asked first
        return "http_fetch_timeout"
    if isinstance(error, ValueError):
        return "http_fetch_malformed"
    return "http_fetch_connection"


class PageFetches:
    """What static/tracking/live.js fetches beside its lean socket (``?field=later``):
    field.json and roster.json as it starts, field.json again after a reconnect's
    snapshot, once more 2.5 s later when it was older than the snapshot, and every
    clamp(G / (4750 - G / 120 - 2500), 10, 55) s, G its compressed size (If-None-Match:
    a 304 when unchanged), while
    the race's field interval is over 60 s. Bodies are read whole, decompressed and
    parsed (orjson), their entries applied as the socket's field frames are."""

    def __init__(self, viewer: Viewer) -> None:
        self.viewer = viewer
        lg = viewer.lg
        base = f"/live/{lg.cfg.event_slug}/{lg.cfg.race_slug}/"  # the page's cfg.field_url
        self.field_url, self.roster_url = base + "field.json", base + "roster.json"
        self.race: dict[str, Any] = {}
        self.fetching = False
        self.field_loaded_at: float | None = None
        self.field_seq: int | None = None
        self.field_bytes: int | None = None
        self.etag: str | None = None
        self.follow_up = False
        self.timer: asyncio.TimerHandle | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    def _spawn(self, coro: Any) -> None:
        if self.viewer.lg.stopping:
            coro.close()
            return
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _later(self, delay: float, fn: Any) -> asyncio.TimerHandle:
        return asyncio.get_running_loop().call_later(delay, fn)

    async def _get(self, url: str, etag: str | None) -> http_fetch.Response | None:
        lg = self.viewer.lg
        st = lg.stats
        headers = {"If-None-Match": etag} if etag else {}
        try:
            resp = await http_fetch.get(
                lg.host, lg.port, url, headers, lg.cfg.source, FETCH_TIMEOUT_S
            )
        except (OSError, TimeoutError, ValueError, asyncio.IncompleteReadError) as exc:
            self.viewer.refuse(fetch_failure(exc))
            return None
        now = time.time()
        st.http_requests += 1
        st.http_bytes += resp.wire_bytes
        if lg.window.inside(now):
            st.http_requests_window += 1
            st.http_bytes_window += resp.wire_bytes
        key = str(resp.status)
        st.http_status[key] = st.http_status.get(key, 0) + 1
        return resp

    # field.json
    def load_field(self) -> None:
        if self.fetching:
            return
        self.fetching = True
        self._spawn(self._load_field())

    async def _load_field(self) -> None:
        resp = await self._get(self.field_url, self.etag)
        self.fetching = False
        ok = resp is not None and resp.status in (200, 304)
        if resp is not None and resp.status == 200:
            self.etag = resp.headers.get("etag")
            self.field_bytes = resp.body_wire_bytes or self.field_bytes
            doc = orjson.loads(resp.body)
            self.viewer.apply_field(doc["field"])
            self.field_seq = doc["seq"]
        if ok and self.field_loaded_at is None:
            now = time.time()
            self.field_loaded_at = now
            self.viewer.lg.stats.field_wait_s.append(now - self.viewer.arrive_at)
        if ok:
            self.follow_up_field()
        elif self.field_loaded_at is None:
            self.timer = self._later(FETCH_RETRY_S, self.load_field)

    def follow_up_field(self) -> None:
        seq = self.viewer.seq
        if self.field_seq is None or not seq or self.field_seq >= seq or self.follow_up:
            return
        if self.period():
            return
        self.follow_up = True
        self._later(2.5, self.load_field)

    def period(self) -> float:
        interval = self.race.get("field_interval") or 0
        if not self.race.get("field_url") or interval <= FIELD_MAX_AGE_S:
            return 0.0
        size = self.field_bytes or (self.race.get("athletes") or 0) * FIELD_GUESS_BYTES
        budget = LIVE_BYTES_PER_S - size / LIVE_WINDOW_S - SOCKET_GUESS_BYTES_PER_S
        budget = max(FIELD_HTTP_MIN_BYTES_PER_S, budget)
        return max(10, min(FIELD_PERIOD_MAX_S, math.ceil(size / budget)))

    def schedule(self) -> None:
        if self.timer is not None:
            return
        period = self.period()
        if period:
            self.timer = self._later(period, self._refresh)

    def _refresh(self) -> None:
        self.timer = None
        if self.viewer.lg.stopping:
            return
        self.load_field()
        self.schedule()

    def on_snapshot(self, race: dict[str, Any], seq: int, again: bool) -> None:
        self.race = race
        if not race.get("field_url"):
            # A server without ?field=later (the snapshot held the whole field).
            if self.field_loaded_at is None:
                self.field_loaded_at = now = time.time()
                self.viewer.lg.stats.field_wait_s.append(now - self.viewer.arrive_at)
            return
        if again:
            self.load_field()  # back after a break: the field moved meanwhile
        self.schedule()
        self.follow_up_field()

    # roster.json
    def load_roster(self) -> None:
        self._spawn(self._load_roster())

    async def _load_roster(self) -> None:
        resp = await self._get(self.roster_url, None)
        if resp is not None and resp.status == 200:
            orjson.loads(resp.body)  # parsed: the page names the board from it
        else:
            self._later(FETCH_RETRY_S, self.load_roster)
