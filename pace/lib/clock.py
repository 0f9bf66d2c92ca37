"""The clock time-dependent code reads, so that tests can move it instead of sleeping.

Code that waits for time to pass (a tick, a lease, a commit window) takes a ``Clock``
and defaults to ``SYSTEM``; a test passes ``pace.lib.testing.FakeClock`` and advances
it. Only monotonic time, wall time and sleeping go through it: the few readings a
loop's timing depends on, not every ``timezone.now()`` of the project.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    def time(self) -> float:
        """Wall-clock seconds since the epoch (``time.time``)."""
        ...

    def monotonic(self) -> float:
        """Seconds that never go back, for intervals (``time.monotonic``)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Let ``seconds`` pass on this clock (``asyncio.sleep``)."""
        ...


class SystemClock:
    """The real clock."""

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


SYSTEM: Clock = SystemClock()
