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
import contextlib
import os
import random
import signal
import time
from dataclasses import dataclass
from typing import Any

import uvloop

from bench.live_people import Athlete, Course, Spectator, Stats, Window
from bench.ws_client import WsClient

CONNECT_TIMEOUT_S = 60.0
CONNECT_ATTEMPTS = 5  # a client whose handshake fails tries again (after a pause), as apps do


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
