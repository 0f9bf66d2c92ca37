"""Costs of every WebSocket connection under daphne that buy nothing, taken away.

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

**A killed application is logged once.** After ``application_close_timeout`` (10 s)
without its client, daphne's application sweep (``sweeps.application_checker`` now)
cancels an application that has not ended and logs "took too long to shut down and was
killed", with the reprs of the task and the connection; a cancelled task ends only when
the loop next runs it, so on a loaded process the next sweeps log it again. Under a
5,000 / 20,000 surge that was 31,811 lines (2.3 a killed request), each formatting two
reprs, on processes already short of CPU. :class:`KilledOnce` lets the first through
for each application.

**A refused frame is closed, not reset.** Autobahn fails a connection by dropping
its TCP connection (``failByDrop``) unless told otherwise: a frame over daphne's
``--websocket_max_message_size`` (1 MB) or text that is not UTF-8 reset the phone's
connection and it could not tell why. Without it the failure is a close frame, 1009
(too big) or 1007 (not UTF-8), with autobahn's reason, and after a second without the
peer's answer (``closeHandshakeTimeout``) the connection is dropped all the same.
Ping timeouts still drop at once: a peer that answers no ping reads no close either.

Written against daphne 4.2.3 / Twisted 26.10.0 / autobahn 26.11.1; checked by
pace/tests/test_daphne_patches_upstream.py.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
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


def send_now(self: Any, data: bytes) -> None:
    """``write_now`` on a connection known idle (``Outlet.idle_transport``): its checks
    already made, once, for a tick's frame."""
    try:
        sent = self.socket.send(data)
    except OSError:
        sent = 0
    if sent != len(data):
        _buffered_write(self, data[sent:])


def _buffered_write(self: Any, data: bytes) -> None:
    from twisted.internet import _newtls

    _newtls.ConnectionMixin.write(self, data)


# daphne.server.Server.application_checker's warning (its source is pinned).
KILLED = "Application instance %r for connection %s took too long to shut down and was killed."


class KilledOnce(logging.Filter):
    """Passes daphne's "took too long to shut down" once for each application instance."""

    def __init__(self) -> None:
        super().__init__()
        self.logged: weakref.WeakSet[Any] = weakref.WeakSet()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg != KILLED or not isinstance(record.args, tuple) or not record.args:
            return True
        instance = record.args[0]
        try:
            if instance in self.logged:
                return False
            self.logged.add(instance)
        except TypeError:  # not weakly referenceable: not daphne's task
            return True
        return True


def closing_failures(init: Callable[..., None]) -> Callable[..., None]:
    """daphne's ``WebSocketFactory.__init__``, then failures closed with a code and a reason."""

    def init_closing(factory: Any, *args: Any, **kwargs: Any) -> None:
        init(factory, *args, **kwargs)
        factory.setProtocolOptions(failByDrop=False)

    init_closing.__wrapped__ = init  # type: ignore[attr-defined]
    return init_closing


def install() -> None:
    """Make every Twisted TCP connection of this process use ``write_now``, autobahn's
    messages plain, failed WebSockets closed with a reason and daphne's killed applications
    logged once (idempotent)."""
    global _installed
    if _installed:
        return
    import autobahn.util
    from daphne.ws_protocol import WebSocketFactory
    from twisted.internet import tcp

    tcp.Connection.write = write_now  # type: ignore[method-assign]  # the patch itself
    WebSocketFactory.__init__ = closing_failures(WebSocketFactory.__init__)
    logging.getLogger("daphne.server").addFilter(KilledOnce())
    autobahn.util._HAS_CLICK = False
    _installed = True
