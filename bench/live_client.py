"""Load generator of the live tracking benchmark: simulated phones and live pages.

One loader process runs a share of the athletes and spectators over a minimal
WebSocket client of its own (``asyncio.Protocol``, RFC 6455 framing, no
extensions, uvloop): on a 2-core machine that also runs the servers, the
generator must cost little per frame. Each person arrives at its own time (the
scenario's arrival schedule), connects, and reconnects after a refusal or a lost
socket with the delays static/tracking/common.js and track.js use
(``bench.live_people``). By default (``--client full``) every frame is parsed and
applied as the page does; ``--client skim`` is the older generator that counts
frames from their first bytes. Everything it measures is sent back to the parent
(``bench.live``) through a pipe:

- athletes: the fixes sent and which ``seq`` were acked, and when (ack latency), the
  whole acked set (the parent checks it against the database);
- spectators: frames and bytes received in the measured window, tick ``seq`` gaps
  (missed ticks), resyncs; a sample of them the fix → screen latency of the
  athletes they follow (receive time minus the fix time ``t``: same clock); as the
  page (``page-lean``), the HTTP requests and bytes of field.json / roster.json and
  each spectator's arrival → whole field (first field.json);
- everyone: arrival, first served (``welcome`` / first ``snapshot``), refusals,
  each loss of service and when it was served again, and (restart scenario) which
  socket it held when a server process was killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import random
import resource
import signal
import time
from dataclasses import dataclass, field
from typing import Any

import uvloop

from bench.live_people import DEAD_S, Course, Person, Phone, Stats, Viewer, Window
from pace.daphne_patches.gctune import tune_for_server

LAG_PERIOD_S = 0.1


class GcPauses:
    """The loader's garbage collections that took long enough to make it late: (at, the
    generation collected, ms). Its loop's lateness is the generator's to explain before it
    is blamed on the server: a full collection walks every client's state it holds."""

    THRESHOLD_MS = 5.0

    def __init__(self) -> None:
        self.pauses: list[tuple[float, int, float]] = []
        self._started = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        ms = (time.perf_counter() - self._started) * 1000
        if ms >= self.THRESHOLD_MS:
            self.pauses.append((time.time(), info["generation"], round(ms, 1)))


@dataclass
class LoaderConfig:
    index: int
    host: str
    port: int
    source: str  # local address the clients bind to (127.0.0.2, ...)
    race_id: int
    athletes: list[dict[str, Any]]  # {id, token, at: arrival, seconds after start_at}
    all_ids: list[int]
    spectators_at: list[float]  # arrival of each of this loader's spectators (after start_at)
    sample: float
    follows: int
    course: list[list[float]]
    start_at: float  # epoch of the schedule's 0
    connect_concurrency: int = 0  # handshakes in flight on the first connection (0: no cap)
    ramp_end: float = 0.0  # epoch: report "connected" once everyone is served, or then
    window: dict[str, float] | None = None  # given up front (surge): no "connected" phase
    full: bool = True
    page_copies: bool = False
    batch_sched: bool = False
    honour_retry_after: bool = False
    token_in_url: bool = False  # the baseline relay's way; Pace's page sends a hello
    # protocol: spectators take the whole field in their snapshot; page-lean: as the live
    # page, a lean snapshot (?field=later) and field.json / roster.json over HTTP.
    spectators: str = "protocol"
    event_slug: str = ""
    race_slug: str = ""
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class Loader:
    def __init__(self, cfg: LoaderConfig, conn: Any) -> None:
        self.cfg = cfg
        self.conn = conn
        self.host, self.port, self.race_id = cfg.host, cfg.port, cfg.race_id
        self.full = cfg.full
        self.page_copies = cfg.page_copies
        self.course = Course(cfg.course)
        self.index = {aid: i for i, aid in enumerate(cfg.all_ids)}
        self.stats = Stats()
        self.window = Window()
        self.stopping = False
        self.t0 = time.time()
        self.ready = {"athlete": 0, "spectator": 0}
        self.people: list[Person] = []
        self.lags: list[tuple[float, float]] = []  # (at, ms late) from the window on
        self.collections = GcPauses()  # its garbage collector's pauses (one cause of lateness)

    async def _wait_parent(self) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self.conn.recv)

    async def _watch_lag(self) -> None:
        """How late this loader's loop runs: a 0.1 s timer's lateness, from the window on.
        A late loader reads its frames late (latencies, acks) and sees its sockets as
        silent (the page's 25 s rule): the server is not the only suspect."""
        while not self.stopping:
            due = time.monotonic() + LAG_PERIOD_S
            await asyncio.sleep(LAG_PERIOD_S)
            now = time.time()
            if now >= self.window.measure_from:
                self.lags.append((now, round((time.monotonic() - due) * 1000, 1)))

    async def _sweep(self) -> None:
        """live.js checkStale: a page's socket silent for 25 s is closed (and reconnected)."""
        while not self.stopping:
            await asyncio.sleep(5.0)
            now = time.time()
            for p in self.people:
                c = p.conn
                quiet = now - p.last_frame
                if isinstance(p, Viewer) and c is not None and c.open and p.seq and quiet > DEAD_S:
                    p.refuse("dead_socket_closed")
                    c.close()

    async def run(self) -> None:
        cfg = self.cfg
        rng = random.Random(cfg.seed * 7919 + cfg.index)
        for info in cfg.athletes:
            speed, d0 = rng.uniform(2.5, 4.5), rng.uniform(0, 300)
            self.people.append(Phone(self, info, speed, d0, cfg.start_at + info["at"]))
        n = len(cfg.spectators_at)
        n_sampled = max(1, round(n * cfg.sample)) if n else 0
        for i, at in enumerate(cfg.spectators_at):
            follows = rng.sample(cfg.all_ids, min(cfg.follows, len(cfg.all_ids)))
            self.people.append(Viewer(self, follows, i < n_sampled, cfg.start_at + at))
        sem = asyncio.Semaphore(cfg.connect_concurrency) if cfg.connect_concurrency else None
        cpu_start = time.process_time()
        tasks = [asyncio.ensure_future(p.live(sem)) for p in self.people]
        sweep = asyncio.ensure_future(self._sweep())
        lag = asyncio.ensure_future(self._watch_lag())
        if cfg.window is None:
            want = {"athlete": len(cfg.athletes), "spectator": n}
            while self.ready != want and time.time() < cfg.ramp_end:
                await asyncio.sleep(0.2)
            self.conn.send(
                {
                    "phase": "connected",
                    "athletes": self.ready["athlete"],
                    "spectators": self.ready["spectator"],
                    "refusals": self._refusals(),
                }
            )
            cmd = await self._wait_parent()
        else:
            cmd = cfg.window
        self.window.measure_from, self.window.end = cmd["measure_from"], cmd["end"]
        await asyncio.sleep(max(0.0, self.window.measure_from - time.time()))
        cpu0 = time.process_time()
        self.stats.seq_at_start = self.stats.max_seq
        await asyncio.sleep(max(0.0, self.window.end - time.time()))
        cpu1 = time.process_time()
        self.stats.seq_at_end = self.stats.max_seq
        open_athletes = sum(1 for p in self.people if isinstance(p, Phone) and p.synced)
        # Stop sending fixes; give the outstanding ones time to be acked.
        self.stopping = True
        phones = [p for p in self.people if isinstance(p, Phone)]
        for p in phones:
            if p.handle:
                p.handle.cancel()
        grace = time.monotonic() + cmd.get("ack_grace", 10.0)
        while time.monotonic() < grace and any(p.sent_at and p.synced for p in phones):
            await asyncio.sleep(0.2)
        unacked = sum(len(p.batches) for p in phones)
        for person in self.people:
            if person.conn is not None:
                person.conn.close()
        for t in [*tasks, sweep, lag]:
            t.cancel()
        await asyncio.sleep(0.5)
        st = self.stats
        self.conn.send(
            {
                "phase": "done",
                "loader": cfg.index,
                "cpu_s": round(cpu1 - cpu0, 3),
                "cpu_total_s": round(time.process_time() - cpu_start, 3),
                "wall_total_s": round(time.time() - cfg.start_at, 1),
                "open_athletes_at_end": open_athletes,
                "unacked_after_grace": unacked,
                "acked": {p.id: p.acked for p in phones},
                "people": [self._record(p) for p in self.people],
                "refusals": self._refusals(),
                "loop_lags": self.lags,
                "gc_pauses": self.collections.pauses,
                "stats": st.__dict__,
            }
        )

    def _refusals(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for p in self.people:
            for k, v in p.refusals.items():
                out[k] = out.get(k, 0) + v
        return out

    @staticmethod
    def _record(p: Person) -> tuple[Any, ...]:
        """(kind, arrived, first served, losses [lost, served again], sockets [host, port,
        connected, closed], missed ticks [(at, n)], connects, sampled fix → screen [(at, ms)])"""
        return (
            p.kind, p.arrive_at, p.served_at, p.lost, p.sockets, p.missed, p.connects,
            p.latency_at,
        )  # fmt: skip


def _yield_to_servers() -> None:
    """``--batch-sched``: schedule this process as a batch job (Linux): its wake-ups do not
    preempt a running server process.

    Every frame a server writes to a socket of ours wakes this process up, and the
    kernel lets a task that slept preempt the one running; ``SCHED_BATCH`` turns only
    that wake-up preemption off. Real clients are on other machines, so neither is what
    a server meets in production: the default is normal scheduling (the generator then
    competes for the cores as a co-located client would), this is kept for comparison
    with earlier figures."""
    with contextlib.suppress(AttributeError, OSError):  # not Linux: as it is
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))


def run_loader(cfg: LoaderConfig, conn: Any) -> None:
    """Entry point of a loader process (multiprocessing target)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us
    with contextlib.suppress(ValueError, OSError):
        _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if cfg.batch_sched:
        _yield_to_servers()
    # A loader holds thousands of clients' state and parses a frame per client a second:
    # the churn a daphne process has, and with CPython's default thresholds the same
    # full collections walking the whole heap (pace/daphne_patches/gctune.py). Real
    # clients parse on their own machines; on this one the generator's CPU is taken
    # from the servers measured.
    tune_for_server()
    try:
        # libuv's loop: the load generator shares the machine with Pace, so the less CPU
        # it spends per socket event the more is left to what is measured.
        uvloop.run(Loader(cfg, conn).run())
    except Exception as exc:  # report, do not hang the parent
        conn.send({"phase": "error", "error": repr(exc)})
        raise
