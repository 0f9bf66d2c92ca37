"""What one process admits: sockets open per IP, and whether it can serve one more now.

``ws.connect.ip`` limits how fast one IP opens sockets, not how many it keeps: at its
rate one host would hold 180,000 after an hour. Each process counts its own (a socket
lives and dies on one event loop), so the cap costs a dict update at open and at close.

**Overload** (PROTOCOL.md "Overload and reconnects"): a start gun or a restart's
reconnect storm brings more new sockets a second than a process can serve. Accepted
anyway, each waits behind the others for its snapshot, the clients give up and come
back, and the sockets already served get their ticks late. So each process measures,
cheaply, how far behind its event loop runs (:class:`Admission`: a timer every 0.1 s
notes how late it fires, smoothed), while sockets are arriving, and how many sockets are
between their ``connect`` and their first frame; over ``TRACKING_ADMIT_*`` thresholds it
refuses new sockets with "come back in S seconds", S drawn at random over a window that
grows with the overload (so a storm spreads itself out). Sockets already served are never
refused, and athletes' trackers, whose acks a phone waits on, have higher thresholds than
spectators: capacity kept for them.
"""

from __future__ import annotations

import asyncio
import math
import random
import weakref

from django.conf import settings

from pace.lib.clock import SYSTEM, Clock
from pace.lib.ratelimits import Limited

# A client refused for holding too many sockets waits this long before trying again:
# long enough that a flood of reconnects does not spin, short enough for a phone whose
# neighbours behind the NAT closed theirs.
FULL_RETRY_SECONDS = 30


class OpenSockets:
    """The sockets open per IP on one event loop."""

    def __init__(self) -> None:
        self.by_ip: dict[str, int] = {}

    def take(self, *, ip: str, cap: int) -> Limited | None:
        """Count one more socket of ``ip``, or refuse it when ``ip`` holds ``cap`` (0: no cap)."""
        held = self.by_ip.get(ip, 0)
        if cap and held >= cap:
            return Limited(name="ws.open.ip", retry_after=FULL_RETRY_SECONDS)
        self.by_ip[ip] = held + 1
        return None

    def release(self, *, ip: str) -> None:
        """One socket of ``ip`` closed."""
        held = self.by_ip.get(ip, 0) - 1
        if held > 0:
            self.by_ip[ip] = held
        else:
            self.by_ip.pop(ip, None)


LAG_PERIOD_SECONDS = 0.1  # how often the loop's lag is measured
LAG_SMOOTHING = 0.25  # weight of the newest measure: one long tick is not an overload
RETRY_STEP_SECONDS = 2  # a refused client's window per unit of overload (load 1: 1-4 s)
RECENT_SECONDS = 10.0  # sockets admitted and refused are counted over about this long


class Admission:
    """Whether this process takes one more socket now (``retry_after``)."""

    def __init__(self, clock: Clock = SYSTEM) -> None:
        self.clock = clock
        self.opening = 0  # sockets between their connect and their first frame
        self.late = 0.0  # the loop's lag, smoothed over the last second or so
        self.due: float | None = None  # when the lag timer should fire next
        self.task: asyncio.Task[None] | None = None
        self.refused = 0
        # Sockets admitted and refused lately (counts decaying over RECENT_SECONDS): the
        # refused should come back no faster than the process has been admitting.
        self.recent_admitted = 0.0
        self.recent_refused = 0.0
        self.counted_at = clock.monotonic()

    def start(self) -> None:
        """Measure the loop's lag from now on (once per loop)."""
        if self.task is None:
            self.task = asyncio.ensure_future(self.watch())

    async def watch(self) -> None:
        while True:
            self.due = self.clock.monotonic() + LAG_PERIOD_SECONDS
            await self.clock.sleep(LAG_PERIOD_SECONDS)
            self.note(self.clock.monotonic() - self.due)

    def note(self, late: float) -> None:
        """The lag timer fired ``late`` seconds after it was due."""
        self.late += LAG_SMOOTHING * (max(0.0, late) - self.late)

    def lag(self) -> float:
        """How far behind the loop runs: the smoothed lag, or more when the timer is
        overdue right now (the loop has been busy since it was due)."""
        overdue = self.clock.monotonic() - self.due if self.due is not None else 0.0
        if overdue <= 0:
            return self.late
        return max(self.late, self.late + LAG_SMOOTHING * (overdue - self.late))

    def load(self, *, athlete: bool) -> float:
        """This process's load against its thresholds for a new socket: 1 or more is over."""
        if athlete:
            lag_cap = settings.TRACKING_ADMIT_ATHLETE_LAG_SECONDS
            opening_cap = settings.TRACKING_ADMIT_ATHLETE_OPENING
        else:
            lag_cap = settings.TRACKING_ADMIT_LAG_SECONDS
            opening_cap = settings.TRACKING_ADMIT_OPENING
        # The lag counts only while sockets arrive (a start gun, a reconnect storm): a loop
        # lagging under its phones' fixes or a tick is not relieved by turning away the odd
        # spectator, whose handshake and snapshot cost under a millisecond, and the refused
        # would wait seconds for nothing (bench/README.md "A lone spectator refused").
        arriving = (self.recent_admitted + self.recent_refused) / RECENT_SECONDS
        floor = settings.TRACKING_ADMIT_LAG_ARRIVALS
        by_lag = self.lag() / lag_cap if lag_cap and arriving >= floor else 0.0
        by_opening = self.opening / opening_cap if opening_cap else 0.0
        return max(by_lag, by_opening)

    def retry_after(self, *, athlete: bool, rng: random.Random | None = None) -> int | None:
        """None: serve the new socket. Else the seconds its client should wait, drawn at
        random from 1 to a window that grows with the overload and with the clients
        refused lately (at most ``TRACKING_ADMIT_RETRY_MAX_SECONDS``), so a storm's
        refused clients come back spread out, about as fast as this process admits."""
        now = self.clock.monotonic()
        fade = math.exp(-(now - self.counted_at) / RECENT_SECONDS)
        self.recent_admitted *= fade
        self.recent_refused *= fade
        self.counted_at = now
        load = self.load(athlete=athlete)
        if load < 1:
            self.recent_admitted += 1
            return None
        self.refused += 1
        self.recent_refused += 1
        admitting = max(1.0, self.recent_admitted / RECENT_SECONDS)  # sockets a second
        window = max(RETRY_STEP_SECONDS * 2 * load, self.recent_refused / admitting)
        window = min(settings.TRACKING_ADMIT_RETRY_MAX_SECONDS, math.ceil(window))
        return (rng or random).randint(1, max(1, window))


_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[OpenSockets, Admission]] = (
    weakref.WeakKeyDictionary()
)


def _ours() -> tuple[OpenSockets, Admission]:
    loop = asyncio.get_running_loop()
    if loop not in _by_loop:
        _by_loop[loop] = (OpenSockets(), Admission())
    return _by_loop[loop]


def open_sockets() -> OpenSockets:
    """This process's (its event loop's) count."""
    return _ours()[0]


def admission() -> Admission:
    """This process's (its event loop's) admission, measuring the loop's lag."""
    gate = _ours()[1]
    gate.start()
    return gate
