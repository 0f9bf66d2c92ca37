"""Twisted TCP writes go straight to the socket when nothing is buffered, in order."""

from __future__ import annotations

import socket
from types import SimpleNamespace

import pytest

from pace.daphne_patches import twisted_tcp


@pytest.fixture
def pair(monkeypatch):
    """A connected socket pair, and what reached Twisted's buffering write."""
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    buffered: list[bytes] = []
    monkeypatch.setattr(twisted_tcp, "_buffered_write", lambda conn, data: buffered.append(data))
    yield ours, theirs, buffered
    ours.close()
    theirs.close()


def _connection(sock: socket.socket, **state) -> SimpleNamespace:
    idle = {"TLS": False, "connected": True, "_writeDisconnected": False,
            "_tempDataBuffer": [], "offset": 0, "dataBuffer": b""}  # fmt: skip
    return SimpleNamespace(socket=sock, **(idle | state))


def test_an_idle_connection_sends_at_once(pair):
    ours, theirs, buffered = pair
    twisted_tcp.write_now(_connection(ours), b"frame one")
    assert theirs.recv(100) == b"frame one" and buffered == []


def test_bytes_already_waiting_go_first(pair):
    ours, theirs, buffered = pair
    twisted_tcp.write_now(_connection(ours, _tempDataBuffer=[b"earlier"]), b"later")
    twisted_tcp.write_now(_connection(ours, dataBuffer=b"earlier", offset=3), b"later")
    theirs.setblocking(False)
    with pytest.raises(BlockingIOError):
        theirs.recv(100)  # nothing jumped the queue
    assert buffered == [b"later", b"later"]


def test_what_a_full_socket_does_not_take_is_buffered_in_order(pair):
    ours, theirs, buffered = pair
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    data = bytes(range(256)) * 4096  # far more than the socket's buffers
    twisted_tcp.write_now(_connection(ours), data)
    (rest,) = buffered
    theirs.setblocking(False)
    received = b""
    while True:
        try:
            chunk = theirs.recv(1 << 20)
        except BlockingIOError:
            break
        received += chunk
    assert 0 < len(received) < len(data)
    assert received + rest == data


def test_a_broken_socket_is_left_to_twisted(pair):
    ours, theirs, buffered = pair
    theirs.close()
    twisted_tcp.write_now(_connection(ours), b"x" * 10)
    twisted_tcp.write_now(_connection(ours), b"y" * 10)
    # The first send may still succeed into the kernel; the error surfaces in Twisted's path.
    assert buffered and buffered[-1] == b"y" * 10


def test_a_closed_or_tls_connection_takes_twisteds_path(pair):
    ours, _, buffered = pair
    twisted_tcp.write_now(_connection(ours, TLS=True), b"a")
    twisted_tcp.write_now(_connection(ours, connected=False), b"b")
    assert buffered == [b"a", b"b"]


def test_install_replaces_tcp_write_and_drops_autobahns_colours():
    from autobahn.util import hltype
    from twisted.internet import tcp

    twisted_tcp.install()
    twisted_tcp.install()
    assert tcp.Connection.write is twisted_tcp.write_now
    assert "\x1b" not in hltype(test_install_replaces_tcp_write_and_drops_autobahns_colours)


def test_a_killed_application_is_logged_once_however_many_sweeps_find_it() -> None:
    """daphne's sweep says "took too long to shut down" on every pass until the cancelled
    task ends; KilledOnce lets the first through for each application instance."""
    import asyncio
    import inspect
    import logging

    from daphne.server import Server

    from pace.daphne_patches.twisted_tcp import KILLED, KilledOnce

    # The message daphne logs is the one the filter knows.
    assert KILLED in inspect.getsource(inspect.unwrap(Server.application_checker))

    async def tasks() -> tuple[asyncio.Task[None], asyncio.Task[None]]:
        return (
            asyncio.ensure_future(asyncio.sleep(0)),
            asyncio.ensure_future(asyncio.sleep(0)),
        )

    loop = asyncio.new_event_loop()
    try:
        first, second = loop.run_until_complete(tasks())
        killed = KilledOnce()

        def passes(*args: object, msg: str = KILLED) -> bool:
            record = logging.LogRecord("daphne.server", logging.WARNING, "", 0, msg, args, None)
            return killed.filter(record)

        assert passes(first, "<WebRequest a>")
        assert not passes(first, "<WebRequest a>")  # the next sweeps
        assert not passes(first, "<WebRequest a>")
        assert passes(second, "<WebRequest b>")
        assert passes(msg="Listening on TCP address 127.0.0.1:8000")  # anything else
        assert passes("not a task", "x")  # a str cannot be weakly referenced: passed
    finally:
        loop.close()
