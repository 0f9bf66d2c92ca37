"""Two costs of every WebSocket frame under daphne that buy nothing, taken away.

**Send at once on an idle TCP connection**, instead of a reactor round trip.
Twisted's TCP transport never sends in ``write``: it buffers the bytes, registers
the socket for writability (an ``epoll_ctl`` and, under asyncio's selector, a new
key object), sends from the next loop iteration, then unregisters (another
``epoll_ctl``). Asyncio's own transports first try to send, which almost always
takes the whole frame. A live race writes one frame per spectator per tick, so
that round trip was a quarter of a daphne process's CPU (bench/live.py, 2,000
athletes and 5,000 spectators: 0.36 core a process before, 0.27 after).

``write`` here sends straight away when nothing is waiting in the transport's
buffers, and hands whatever the socket did not take (or any error) to Twisted's
own ``write``, which buffers it and lets ``doWrite`` find the error as before. So
bytes keep their order, and backpressure and producers work as before.

**No colours in autobahn's debug messages.** Autobahn formats the arguments of its
debug log calls on every frame sent and received, debug logging on or not, and with
``click`` installed (Celery brings it) each one is several ``click.style`` calls:
7 % of a daphne process's CPU at 5,000 athletes and 20,000 spectators. Without
colours the same messages are plain text.
"""

from __future__ import annotations

from typing import Any

_installed = False


def write_now(self: Any, data: bytes) -> None:
    """``tcp.Connection.write`` that tries the socket first when the buffers are empty."""
    if (
        data
        and not self.TLS
        and self.connected
        and not self._writeDisconnected
        and not self._tempDataBuffer
        and self.offset == len(self.dataBuffer)
    ):
        try:
            sent = self.socket.send(data)
        except OSError:
            sent = 0  # EAGAIN, or a broken socket: Twisted's doWrite deals with it
        if sent == len(data):
            return
        data = data[sent:]
    _buffered_write(self, data)


def _buffered_write(self: Any, data: bytes) -> None:
    from twisted.internet import _newtls

    _newtls.ConnectionMixin.write(self, data)


def install() -> None:
    """Make every Twisted TCP connection of this process use ``write_now``, and autobahn's
    messages plain (idempotent)."""
    global _installed
    if _installed:
        return
    import autobahn.util
    from twisted.internet import tcp

    tcp.Connection.write = write_now
    autobahn.util._HAS_CLICK = False
    _installed = True
