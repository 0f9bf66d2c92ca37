"""Sockets open at once per IP, in this process: a cap counted in memory, no cache call.

``ws.connect.ip`` limits how fast one IP opens sockets, not how many it keeps: at its
rate one host would hold 180,000 after an hour. Each process counts its own (a socket
lives and dies on one event loop), so the cap costs a dict update at open and at close.
"""

from __future__ import annotations

import asyncio
import weakref

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


_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, OpenSockets] = (
    weakref.WeakKeyDictionary()
)


def open_sockets() -> OpenSockets:
    """This process's (its event loop's) count."""
    loop = asyncio.get_running_loop()
    if loop not in _by_loop:
        _by_loop[loop] = OpenSockets()
    return _by_loop[loop]
