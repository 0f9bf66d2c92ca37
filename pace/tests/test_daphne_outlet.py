"""Frames written straight to daphne's transport are byte for byte autobahn's own."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
from types import SimpleNamespace
from typing import Any

import pytest
from daphne.server import Server
from daphne.ws_protocol import WebSocketFactory
from twisted.internet import abstract, tcp
from twisted.internet.address import IPv4Address
from twisted.internet.testing import StringTransport

from pace.daphne_patches import twisted_tcp
from pace.daphne_patches.outlet import Outlet, text_frame


def _open_connection() -> tuple[Server, Any, StringTransport]:
    """A daphne WebSocket protocol past its handshake, writing to a string transport."""
    server = Server(application=None, endpoints=["tcp:port=0"])  # never run
    factory = WebSocketFactory(server, server="Daphne")
    factory.setProtocolOptions(allowNullOrigin=True, openHandshakeTimeout=0)
    protocol = factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", 50000))
    transport = StringTransport()
    protocol.makeConnection(transport)
    protocol.state = protocol.STATE_OPEN
    transport.clear()
    return server, protocol, transport


@pytest.mark.parametrize(
    "text", ["", "x", "x" * 125, "x" * 126, "x" * 65535, "x" * 65536, "é" * 150_000]
)
def test_a_frame_is_what_autobahn_writes_for_the_same_text(text):
    _, protocol, transport = _open_connection()
    protocol.sendMessage(text.encode(), False)
    assert text_frame(text) == transport.value()


def test_under_daphne_frames_go_to_the_transport_in_order():
    server, protocol, transport = _open_connection()
    outlet = Outlet(functools.partial(server.handle_reply, protocol))
    assert outlet.protocol is protocol and outlet.writable()
    asyncio.run(outlet.put('{"n":1}'))
    outlet.write(text_frame('{"n":2}'))
    assert transport.value() == text_frame('{"n":1}') + text_frame('{"n":2}')


def test_a_connection_not_open_or_with_frames_queued_is_not_written_to():
    server, protocol, _ = _open_connection()
    outlet = Outlet(functools.partial(server.handle_reply, protocol))
    protocol.send_queue.append((b"queued", False))
    assert not outlet.writable()  # autobahn's queue goes first: send through ASGI
    protocol.send_queue.clear()
    protocol.state = protocol.STATE_CLOSING
    assert not outlet.writable()


def test_other_servers_get_frames_through_asgi():
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    outlet = Outlet(send)
    assert outlet.protocol is None and not outlet.writable()
    asyncio.run(outlet.put("hello"))
    assert sent == [{"type": "websocket.send", "text": "hello"}]


def test_the_backlog_is_what_twisted_holds_for_the_socket():
    ours, theirs = socket.socketpair()
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    # Just enough of a reactor for a connection written to by hand.
    reactor = SimpleNamespace(addWriter=lambda _: None, removeWriter=lambda _: None)
    # No protocol and a stand-in reactor: only the socket writing is under test.
    connection = tcp.Connection(ours, protocol=None, reactor=reactor)  # type: ignore[arg-type]
    connection.connected = True
    outlet = Outlet(None)  # type: ignore[arg-type]
    outlet.protocol = SimpleNamespace(transport=connection)  # a daphne protocol's transport
    assert outlet.backlog() == 0
    # Twisted's buffering write (twisted_tcp may have replaced tcp.Connection.write):
    # everything waits for doWrite.
    abstract.FileDescriptor.write(connection, b"x" * 1_000_000)
    assert outlet.backlog() == 1_000_000
    connection.doWrite()  # the socket takes what fits
    held = outlet.backlog()
    assert 0 < held < 1_000_000
    theirs.setblocking(False)
    while outlet.backlog():  # the peer reads: the backlog drains
        with contextlib.suppress(BlockingIOError):
            theirs.recv(1 << 20)
        connection.doWrite()
    assert outlet.backlog() == 0
    ours.close()
    theirs.close()


def test_a_tick_goes_straight_to_the_socket_only_on_an_idle_open_connection():
    ours, theirs = socket.socketpair()
    reactor = SimpleNamespace(addWriter=lambda _: None, removeWriter=lambda _: None)
    server, protocol, _ = _open_connection()
    connection = tcp.Connection(ours, protocol=None, reactor=reactor)  # type: ignore[arg-type]
    connection.connected = True
    protocol.transport = connection
    outlet = Outlet(functools.partial(server.handle_reply, protocol))
    assert outlet.idle_transport() is connection
    twisted_tcp.send_now(connection, text_frame("now"))
    assert theirs.recv(100) == text_frame("now")
    abstract.FileDescriptor.write(connection, b"held")  # Twisted holds bytes: not idle
    assert outlet.idle_transport() is None
    connection.doWrite()
    assert theirs.recv(100) == b"held" and outlet.idle_transport() is connection
    outlet.queued = 1  # our sender holds frames for it
    assert outlet.idle_transport() is None
    outlet.queued = 0
    protocol.send_queue.append((b"queued", False))  # autobahn's queue goes first
    assert outlet.idle_transport() is None
    protocol.send_queue.clear()
    protocol.state = protocol.STATE_CLOSING
    assert outlet.idle_transport() is None
    ours.close()
    theirs.close()


def test_what_the_socket_does_not_take_is_buffered_after_what_it_took():
    ours, theirs = socket.socketpair()
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    reactor = SimpleNamespace(addWriter=lambda _: None, removeWriter=lambda _: None)
    connection = tcp.Connection(ours, protocol=None, reactor=reactor)  # type: ignore[arg-type]
    connection.connected = True
    data = bytes(range(256)) * 4000
    twisted_tcp.send_now(connection, data)
    assert connection._tempDataLen or len(connection.dataBuffer)  # the rest waits in order
    theirs.setblocking(False)
    got = b""
    while len(got) < len(data):
        with contextlib.suppress(BlockingIOError):
            got += theirs.recv(1 << 20)
        connection.doWrite()
    assert got == data
    ours.close()
    theirs.close()
