"""The page bench's proxy routes as production's does: sockets and OsmAnd to the live
processes, the rest to the web processes, bytes relayed unchanged both ways."""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator

import pytest

from bench.pathproxy import PathProxy, routes_to_live

HOST = "127.0.0.1"


@pytest.mark.parametrize(
    ("line", "live"),
    [
        (b"GET /ws/track/ HTTP/1.1\r\n", True),
        (b"GET /ws/live/12/?field=later HTTP/1.1\r\n", True),
        (b"POST /osmand/ HTTP/1.1\r\n", True),
        (b"GET /osmand/?id=abc&lat=1 HTTP/1.1\r\n", True),
        (b"GET /osmand HTTP/1.1\r\n", True),
        (b"GET /osmandx/ HTTP/1.1\r\n", False),
        (b"GET /track/?token=x HTTP/1.1\r\n", False),
        (b"GET /live/e/r/ HTTP/1.1\r\n", False),
        (b"GET /live/e/r/field.json HTTP/1.1\r\n", False),
        (b"GET /static/ws/x.js HTTP/1.1\r\n", False),
        (b"garbage\r\n", False),
        (b"", False),
    ],
)
def test_it_sends_sockets_and_osmand_to_the_live_processes(line: bytes, live: bool) -> None:
    assert routes_to_live(line) is live


class _Named(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        data = b""
        while not data.endswith(b"\r\n\r\n"):
            chunk = self.request.recv(4096)
            if not chunk:
                return
            data += chunk
        name: bytes = self.server.name  # type: ignore[attr-defined]
        self.request.sendall(name + b" " + data.split(b"\r\n")[0] + b" " + b"x" * 100_000)


@pytest.fixture
def servers() -> Iterator[tuple[int, int]]:
    started = []
    for name in (b"web", b"live"):
        server = socketserver.ThreadingTCPServer((HOST, 0), _Named)
        server.name = name  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        started.append(server)
    yield started[0].server_address[1], started[1].server_address[1]
    for server in started:
        server.shutdown()
        server.server_close()


def _ask(port: int, path: str) -> bytes:
    with socket.create_connection((HOST, port), timeout=10) as conn:
        conn.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    return answer


def test_it_relays_each_connection_to_its_pool_whole(servers: tuple[int, int]) -> None:
    web, live = servers
    proxy = PathProxy(HOST, web, live)
    port = proxy.start()
    try:
        for path, pool in (("/track/?token=t", b"web"), ("/ws/track/", b"live"), ("/", b"web")):
            answer = _ask(port, path)
            assert answer == pool + f" GET {path} HTTP/1.1 ".encode() + b"x" * 100_000
        assert proxy.routed == {"web": 2, "live": 1}
    finally:
        proxy.stop()
