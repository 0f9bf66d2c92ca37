"""daphne's sweeps visit what is due (``pace/daphne_patches/sweeps.py``), with daphne's
own rules: its ``check_timeouts`` pings and rejects, its applications are reaped,
answered and killed as daphne's own sweep would, and a quiet connection costs a sweep
nothing."""

from __future__ import annotations

import asyncio
import gc
import logging
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from daphne.server import Server
from daphne.ws_protocol import WebSocketProtocol
from twisted.internet import reactor as the_reactor

from pace.daphne_patches import sweeps
from pace.daphne_patches.twisted_tcp import KILLED
from tracking.tests.serving import daphne_server

T0 = 1_800_000_000.0
# Typed loosely: mypy reads the reactor's zope interface methods as taking self.
reactor: Any = the_reactor


class Socket(WebSocketProtocol):
    """daphne's WebSocket protocol with its wire replaced by a record: its own
    ``check_timeouts`` decides, we see what it did."""

    def __init__(self, server: Server, *, state: int, opened: float) -> None:
        self.server, self.state = server, state
        self.socket_opened = self.last_ping = opened
        self.done: list[str] = []
        self.client_addr, self.path = None, b"/ws/live/1/"

    def check_timeouts(self) -> None:
        self.done.append("checked")
        super().check_timeouts()

    def _sendAutoPing(self) -> None:  # noqa: N802  (autobahn's name)
        self.done.append("ping")

    def serverReject(self) -> None:  # noqa: N802
        self.done.append("rejected")
        self.server.protocol_disconnected(self)  # as daphne's does

    def serverClose(self) -> None:  # noqa: N802
        self.done.append("closed")

    def handle_exception(self, exception: Exception) -> None:
        self.done.append(f"answered {exception}")


class Quiet(dict[str, Any]):
    """A connection's details no sweep may read: nothing happened to it."""

    def get(self, *args: Any) -> Any:
        raise AssertionError("a sweep read a connection nothing happened to")


@pytest.fixture
def server() -> Iterator[Server]:
    sweeps.install()
    before = set(reactor.getDelayedCalls())
    server = Server(application=None, endpoints=["tcp:port=0"])  # never run
    server.connections = {}  # as Server.run starts it
    try:
        yield server
    finally:
        for call in set(reactor.getDelayedCalls()) - before:  # the sweeps re-arm themselves
            call.cancel()


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        asyncio.set_event_loop(None)
        loop.close()


def _open(server: Server, at: float = T0) -> Socket:
    socket = Socket(server, state=WebSocketProtocol.STATE_OPEN, opened=at)
    server.protocol_connected(socket)
    return socket


def _sweep_timeouts_every_2s(server: Server, clock: Any, until: float) -> None:
    while time.time() < until:
        clock.shift(sweeps.TIMEOUT_SWEEP_S)
        server.timeout_checker()


def test_an_idle_socket_is_pinged_once_its_interval_has_passed_and_looked_at_only_then(
    server: Server,
) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        socket = _open(server)
        _sweep_timeouts_every_2s(server, clock, T0 + 20)  # ping_interval: 20 s
        assert socket.done == ["checked"]  # the first sweep reads its deadlines
        _sweep_timeouts_every_2s(server, clock, T0 + 42)
        assert socket.done == ["checked", "checked", "ping"]  # at T0 + 22
        _sweep_timeouts_every_2s(server, clock, T0 + 64)
        assert socket.done == ["checked"] + ["checked", "ping"] * 2  # at T0 + 44


def test_a_phone_sending_frames_is_never_pinged_and_looked_at_once_an_interval(
    server: Server,
) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        phone = _open(server)
        for _ in range(60):  # a fix a second (inbound.py moves last_ping on every frame)
            clock.shift(1)
            phone.last_ping = time.time()
            if time.time() % 2 == 0:
                server.timeout_checker()
        assert "ping" not in phone.done
        assert 3 <= phone.done.count("checked") <= 4  # daphne's sweep: 30 times


def test_a_handshake_past_its_timeout_is_rejected(server: Server) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        socket = Socket(server, state=WebSocketProtocol.STATE_CONNECTING, opened=T0)
        server.protocol_connected(socket)
        _sweep_timeouts_every_2s(server, clock, T0 + 20)  # websocket_connect_timeout: 20 s
        assert "rejected" not in socket.done
        _sweep_timeouts_every_2s(server, clock, T0 + 60)
        assert socket.done == ["checked", "checked", "rejected"]  # at T0 + 22, then gone


def test_a_socket_past_the_websocket_timeout_is_closed(server: Server) -> None:
    server.websocket_timeout = 30
    with time_machine.travel(T0, tick=False) as clock:
        socket = _open(server)
        _sweep_timeouts_every_2s(server, clock, T0 + 30)
        assert "closed" not in socket.done
        _sweep_timeouts_every_2s(server, clock, T0 + 32)
        assert socket.done[-2:] == ["checked", "closed"]


def test_a_socket_gone_before_its_deadline_is_not_kept_for_it(server: Server) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        socket = _open(server)
        server.timeout_checker()
        server.protocol_disconnected(socket)
        server.application_checker()  # no application: forgotten
        assert socket not in server.connections
        del socket
        gc.collect()
        _sweep_timeouts_every_2s(server, clock, T0 + 2 * server.ping_interval)
        assert sweeps.due_of(server).deadlines == []


def test_http_requests_are_checked_every_sweep_only_with_an_http_timeout(server: Server) -> None:
    checked: list[object] = []

    class Request:
        def check_timeouts(self) -> None:
            checked.append(self)

    quiet, timed = Request(), Request()
    server.protocol_connected(quiet)
    server.timeout_checker()
    assert checked == []  # no --http-timeout: daphne's check does nothing
    server.http_timeout = 60
    server.protocol_connected(timed)
    server.timeout_checker()
    server.timeout_checker()
    assert checked == [timed, timed]
    server.protocol_disconnected(timed)
    server.timeout_checker()
    assert checked == [timed, timed]


def _application(server: Server, loop: asyncio.AbstractEventLoop, socket: Socket, app: Any) -> Any:
    server.application = lambda scope, receive, send: app()

    async def create() -> Any:
        return server.create_application(socket, {"type": "websocket"})

    assert loop.run_until_complete(create()) is not None
    return server.connections[socket]["application_instance"]


def _run(loop: asyncio.AbstractEventLoop) -> None:
    loop.run_until_complete(asyncio.sleep(0.01))


def test_an_application_that_ends_is_reaped_and_its_connection_forgotten_once_gone(
    server: Server, loop: asyncio.AbstractEventLoop
) -> None:
    socket = _open(server)
    server.timeout_checker()  # its deadline read: the Quiet ones below are never due

    async def ends() -> None:
        return None

    _application(server, loop, socket, ends)
    for i in range(1000):  # quiet connections: a sweep reads none of them
        server.connections[Socket(server, state=3, opened=T0 + i)] = Quiet(connected=T0)
    _run(loop)
    server.application_checker()
    assert "application_instance" not in server.connections[socket]
    server.application_checker()  # nothing new: nothing read
    server.protocol_disconnected(socket)
    server.application_checker()
    assert socket not in server.connections
    assert len(server.connections) == 1000


def test_an_application_that_fails_while_connected_is_logged_and_answered(
    server: Server, loop: asyncio.AbstractEventLoop, caplog: pytest.LogCaptureFixture
) -> None:
    socket = _open(server)

    async def fails() -> None:
        raise ValueError("boom")

    _application(server, loop, socket, fails)
    _run(loop)
    with caplog.at_level(logging.ERROR, logger="daphne.server"):
        server.application_checker()
    assert socket.done == ["answered boom"]
    assert "Exception inside application: boom" in caplog.text
    assert socket in server.connections


def test_an_application_left_running_after_its_client_went_is_killed_then_forgotten(
    server: Server, loop: asyncio.AbstractEventLoop, caplog: pytest.LogCaptureFixture
) -> None:
    socket = _open(server)

    async def hangs() -> None:
        await asyncio.sleep(3600)

    instance = _application(server, loop, socket, hangs)
    with time_machine.travel(T0, tick=False) as clock:
        server.protocol_disconnected(socket)
        server.application_checker()
        assert not instance.cancelled()
        clock.shift(server.application_close_timeout + 1)
        with caplog.at_level(logging.WARNING, logger="daphne.server"):
            server.application_checker()  # still watched: gone, its application running
        assert KILLED.split(" %r")[0] in caplog.text
        _run(loop)
        assert instance.cancelled()
        server.application_checker()
        assert socket not in server.connections


def test_the_sweeps_are_daphnes_replaced_with_its_own_intervals(server: Server) -> None:
    import inspect

    assert inspect.unwrap(Server.application_checker) is not sweeps.application_checker
    assert Server.application_checker is sweeps.application_checker
    before = set(reactor.getDelayedCalls())
    start = reactor.seconds()
    server.application_checker()
    server.timeout_checker()
    again = {c.func.__name__: c.getTime() - start for c in set(reactor.getDelayedCalls()) - before}
    assert again.keys() == {"application_checker", "timeout_checker"}
    assert abs(again["application_checker"] - 1) < 0.2
    assert abs(again["timeout_checker"] - 2) < 0.2


# --- a real daphne ----------------------------------------------------------------------------


def _frames(conn: socket.socket, seconds: float) -> list[int]:
    """The opcodes of the server's frames over ``seconds`` (answering nothing)."""
    conn.settimeout(0.2)
    got, opcodes, end = b"", [], time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            chunk = conn.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            opcodes.append(-1)  # closed
            break
        got += chunk
        while len(got) >= 2 and len(got) >= 2 + (got[1] & 0x7F):  # short unmasked frames
            opcodes.append(got[0] & 0x0F)
            got = got[2 + (got[1] & 0x7F) :]
    return opcodes


def test_a_real_daphne_pings_an_idle_socket_and_drops_it_when_no_pong_comes(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    options = ("--ping-interval", "1", "--ping-timeout", "5")
    with daphne_server(tmp_path_factory.mktemp("sweeps"), options=options) as served:
        port = int(served.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            conn.sendall(
                b"GET /ws/track/ HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                b"Sec-WebSocket-Version: 13\r\n\r\n"
            )
            head = b""
            while b"\r\n\r\n" not in head:
                head += conn.recv(1)
            assert head.startswith(b"HTTP/1.1 101")
            # Pinged on the sweeps after its interval (every 2 s); no pong: dropped once
            # the first ping's 5 s are out (autobahn's timer, twisted_tcp: no close frame).
            seen = _frames(conn, 12)
    assert seen.count(9) >= 2, seen
    assert seen[-1] == -1, seen
