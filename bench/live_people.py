"""The live benchmark's simulated people: athletes moving along the course and sending
fixes, spectators counting frames, bytes, gaps and (sampled) fix-to-screen latency, and
what they measure."""

from __future__ import annotations

import asyncio
import bisect
import json
import math
import random
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

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
