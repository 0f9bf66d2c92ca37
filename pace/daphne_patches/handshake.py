"""A WebSocket's opening handshake under daphne: cheaper, and refusable with HTTP 503.

**Autobahn's connection log, formatted only when read.** Every new connection walks
autobahn's ``_connectionMade``, which pretty-prints its forty-odd options for a debug
message (``pformat``), debug logging on or not: a tenth of a daphne process's CPU while
a thousand spectators a second connect (py-spy, bench/live surge). Here that message's
argument formats itself when a log observer reads it, so the message is the same when
debug logging is on, and costs nothing when it is off.

**Refusing an upgrade with 503 and Retry-After** (PROTOCOL.md "Overload and
reconnects"). ASGI lets an application close a socket before accepting it, which daphne
answers with 403 "Access denied" and no hint; a process that is overloaded should say
"come back in S seconds" before it spends a 101 response, a close frame and their round
trips on a socket it will not serve. :func:`refuse_upgrade` answers daphne's pending
handshake itself with ``503 Service Unavailable`` and ``Retry-After: S``, as autobahn
answers a handshake its application denies, and drops the connection.

Written against daphne 4.2.3 / Twisted 26.10.0 / autobahn 26.11.1; checked by
pace/tests/test_daphne_patches_upstream.py.
"""

from __future__ import annotations

from pprint import pformat
from typing import Any

from pace.daphne_patches.outlet import Send, _daphne_protocol

_installed = False


class _Formatted:
    """``pformat(value)``, computed when the log message is formatted, not before."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __str__(self) -> str:
        return pformat(self.value)

    __repr__ = __str__


def refuse_upgrade(send: Send, retry_after: int) -> bool:
    """Answer a socket's pending opening handshake with 503 and ``Retry-After``; False when
    that cannot be done (not daphne, or the handshake is answered already): then accept
    and close with 1013 ``retry=S``."""
    protocol = _daphne_protocol(send)
    if protocol is None or not hasattr(protocol, "handshake_deferred"):
        return False
    if protocol.state != protocol.STATE_CONNECTING:
        return False
    # daphne answers this deferred when the application accepts or closes; nothing will
    # now, and its own sweeps look for it only while the handshake is pending.
    del protocol.handshake_deferred
    protocol.failHandshake(
        "Service Unavailable", 503, [("Retry-After", str(retry_after)), ("Connection", "close")]
    )
    protocol.server.protocol_disconnected(protocol)
    return True


def install() -> None:
    """Autobahn's per-connection debug message formatted lazily (idempotent)."""
    global _installed
    if _installed:
        return
    from autobahn.websocket import protocol

    protocol.pformat = _Formatted  # type: ignore[attr-defined,assignment]  # the patch
    # The module's other user of pformat is a __str__, which must return a real str.
    protocol.Timings.__str__ = lambda self: pformat(self._timings)  # type: ignore[method-assign]
    _installed = True
