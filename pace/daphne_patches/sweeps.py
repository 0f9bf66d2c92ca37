"""daphne's two sweeps, over the connections that need them instead of all of them.

daphne walks every connection of the process every second (``application_checker``:
reap applications that ended, cancel those left running too long after their client
went) and every two (``timeout_checker``: each connection's ``check_timeouts``: the
WebSocket handshake's timeout, ``--websocket_timeout``, and a ping every
``--ping-interval``). Stretched to every five seconds, the two walks were still 10 % of a
live process's Python time at 5,000 athletes and 20,000 spectators (12,500 sockets a
process), and each walk held the event loop for tens of milliseconds at a time
(bench/README.md, "The sweeps over what changed").

Here each walk visits only what is due, at daphne's own intervals again:

- ``application_checker``: the connections something happened to since the last sweep,
  each recorded when it happens: its client went (``protocol_disconnected``) or its
  application ended (a done callback on the application's future). Each gets daphne's
  rules: an application still running ``application_close_timeout`` after its client
  went is cancelled ("took too long to shut down", on daphne's logger); one that ended is
  reaped, its exception logged and, while connected, answered
  (``protocol.handle_exception``); a connection with neither is forgotten. A connection
  whose application is still running after its client went is looked at again on every
  sweep until it is reaped.
- ``timeout_checker``: a WebSocket connection is checked when its next deadline comes,
  from a heap: the handshake's ``websocket_connect_timeout`` while connecting; once open,
  its next ping (``last_ping`` + ``ping_interval``; every frame from the client moves
  ``last_ping``, so a phone sending fixes is looked at once a ping interval and never
  pinged) and ``websocket_timeout``. After each check its next deadline is worked out
  again from what the check left. HTTP connections are checked on every sweep, as daphne
  does, only when ``--http-timeout`` is set (otherwise their check does nothing).

Written against daphne 4.2.3 / Twisted 26.10.0 / autobahn 26.11.1; checked by
pace/tests/test_daphne_patches_upstream.py.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import heapq
import itertools
import logging
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pace.daphne_patches.twisted_tcp import KILLED

# daphne's own logger: its configuration and pace's KilledOnce filter apply.
logger = logging.getLogger("daphne.server")

APPLICATION_SWEEP_S = 1.0  # daphne's own intervals: a sweep now costs what is due
TIMEOUT_SWEEP_S = 2.0
PAST_S = 1e-3  # a deadline is due just past the time daphne compares with
LATER_S = 60.0  # the longest a WebSocket connection goes unchecked (one closing has no deadline)

_installed = False


@dataclass
class Due:
    """What one daphne server's sweeps have to look at."""

    changed: set[Any] = field(default_factory=set)  # disconnected, or their application ended
    # A heap of (when, tie-breaker, the connection): weakly, so that a connection gone
    # before its deadline is not kept for it.
    deadlines: list[tuple[float, int, weakref.ref[Any]]] = field(default_factory=list)
    http: set[Any] = field(default_factory=set)  # checked every sweep with --http-timeout
    order: itertools.count[int] = field(default_factory=itertools.count)  # ties in the heap

    def at(self, when: float, protocol: Any) -> None:
        heapq.heappush(self.deadlines, (when, next(self.order), weakref.ref(protocol)))


def due_of(server: Any) -> Due:
    """The server's record of what is due (made on first use)."""
    due: Due | None = server.__dict__.get("_pace_due")
    if due is None:
        due = server._pace_due = Due()
    return due


def _is_websocket(protocol: Any) -> bool:
    from daphne.ws_protocol import WebSocketProtocol

    return isinstance(protocol, WebSocketProtocol)


def next_deadline(server: Any, protocol: Any, now: float) -> float:
    """When a WebSocket connection's ``check_timeouts`` next has something to do: just
    past each time it compares with (its tests are "more than"), never at ``now`` or before
    (a check that found nothing due waits for a later sweep)."""
    opened = getattr(protocol, "socket_opened", None)
    if opened is None:  # onConnect did not get that far: look at it on the next sweep
        return now + TIMEOUT_SWEEP_S
    deadlines = [now + LATER_S]
    if server.websocket_timeout >= 0:
        deadlines.append(opened + server.websocket_timeout + PAST_S)
    if protocol.state == protocol.STATE_CONNECTING:
        deadlines.append(opened + server.websocket_connect_timeout + PAST_S)
    elif protocol.state == protocol.STATE_OPEN:
        deadlines.append(protocol.last_ping + server.ping_interval + PAST_S)
    return max(min(deadlines), now + PAST_S)


# --- what the sweeps learn as it happens ------------------------------------------------------


def connected(original: Callable[..., None]) -> Callable[..., None]:
    """daphne's ``protocol_connected``, then the connection's first timeout check is due
    on the next sweep (its deadlines are read then: onConnect sets them after this call)."""

    def protocol_connected(server: Any, protocol: Any) -> None:
        original(server, protocol)
        if _is_websocket(protocol):
            due_of(server).at(time.time(), protocol)
        elif server.http_timeout:
            due_of(server).http.add(protocol)

    protocol_connected.__wrapped__ = original  # type: ignore[attr-defined]
    return protocol_connected


def disconnected(original: Callable[..., None]) -> Callable[..., None]:
    """daphne's ``protocol_disconnected``, then the next application sweep looks at it."""

    def protocol_disconnected(server: Any, protocol: Any) -> None:
        original(server, protocol)
        due = due_of(server)
        due.changed.add(protocol)
        due.http.discard(protocol)

    protocol_disconnected.__wrapped__ = original  # type: ignore[attr-defined]
    return protocol_disconnected


def application_created(original: Callable[..., Any]) -> Callable[..., Any]:
    """daphne's ``create_application``, then the next application sweep after the
    application ends looks at its connection."""

    def create_application(server: Any, protocol: Any, scope: Any) -> Any:
        queue = original(server, protocol, scope)
        instance = server.connections.get(protocol, {}).get("application_instance")
        if instance is not None:
            changed = due_of(server).changed
            instance.add_done_callback(lambda _instance: changed.add(protocol))
        return queue

    create_application.__wrapped__ = original  # type: ignore[attr-defined]
    return create_application


# --- the sweeps -------------------------------------------------------------------------------


def check_application(server: Any, protocol: Any, details: dict[str, Any]) -> bool:
    """daphne's rules for one connection's application (see the module's docstring);
    whether to look at the connection again on the next sweep."""
    gone = details.get("disconnected")
    instance = details.get("application_instance")
    if (
        gone
        and instance is not None
        and not instance.done()
        and time.time() - gone > server.application_close_timeout
    ):
        logger.warning(KILLED, instance, repr(protocol))
        instance.cancel()
    if instance is not None and instance.done():
        try:
            exception = instance.exception()
        except (asyncio.CancelledError, concurrent.futures.CancelledError):
            exception = None
        if isinstance(exception, KeyboardInterrupt):  # how daphne's tests stop a server
            server.stop()
        elif exception is not None:
            logger.error("Exception inside application: %s", exception, exc_info=exception)
            if not gone:
                protocol.handle_exception(exception)
        del details["application_instance"]
        instance = None
    if instance is None and gone:
        del server.connections[protocol]
        return False
    return bool(gone)  # gone, its application still running: until it ends or is killed


def application_checker(server: Any) -> None:
    """daphne's application sweep over the connections something happened to."""
    due = due_of(server)
    changed, due.changed = due.changed, set()
    for protocol in changed:
        details = server.connections.get(protocol)
        if details is not None and check_application(server, protocol, details):
            due.changed.add(protocol)
    _later(APPLICATION_SWEEP_S, server.application_checker)


def timeout_checker(server: Any) -> None:
    """daphne's timeout sweep over the WebSocket connections with a deadline reached (and
    every HTTP connection when ``--http-timeout`` is set)."""
    due, connections, now = due_of(server), server.connections, time.time()
    deadlines = due.deadlines
    while deadlines and deadlines[0][0] <= now:
        protocol: Any = heapq.heappop(deadlines)[2]()
        if protocol is None:  # gone and collected
            continue
        details = connections.get(protocol)
        if details is not None and "disconnected" not in details:  # gone: left off the heap
            protocol.check_timeouts()
            due.at(next_deadline(server, protocol, now), protocol)
    for protocol in list(due.http):
        if protocol in connections:
            protocol.check_timeouts()
        else:
            due.http.discard(protocol)
    _later(TIMEOUT_SWEEP_S, server.timeout_checker)


def _later(delay: float, sweep: Callable[[], None]) -> None:
    from twisted.internet import reactor

    # Typed loosely: mypy reads zope interface methods (IReactorTime) as taking self.
    call_later: Callable[..., Any] = reactor.callLater
    call_later(delay, sweep)


def _replacing(original: Callable[..., Any], replacement: Callable[..., Any]) -> Callable[..., Any]:
    replacement.__wrapped__ = original  # type: ignore[attr-defined]  # inspect.unwrap finds it
    return replacement


def install() -> None:
    """Make daphne's sweeps visit only what is due (idempotent)."""
    global _installed
    if _installed:
        return
    from daphne.server import Server

    Server.protocol_connected = connected(Server.protocol_connected)
    Server.protocol_disconnected = disconnected(Server.protocol_disconnected)
    Server.create_application = application_created(Server.create_application)
    Server.application_checker = _replacing(Server.application_checker, application_checker)
    Server.timeout_checker = _replacing(Server.timeout_checker, timeout_checker)
    _installed = True
