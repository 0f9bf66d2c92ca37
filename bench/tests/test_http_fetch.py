"""The page-like clients' fetches fail by name: a timeout, a connection, or not HTTP."""

from __future__ import annotations

import asyncio
import socket

import pytest

from bench import http_fetch
from bench.live_people import fetch_failure


async def _failure(answer: bytes | None, *, port: int | None = None) -> str | None:
    """Fetch from a server that writes ``answer`` and closes (None: says nothing)."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        if answer is None:
            await asyncio.sleep(5)
        else:
            writer.write(answer)
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = port or server.sockets[0].getsockname()[1]
    try:
        await http_fetch.get("127.0.0.1", port, "/f.json", {}, "127.0.0.1", 0.3)
    except (OSError, TimeoutError, ValueError, asyncio.IncompleteReadError) as exc:
        return fetch_failure(exc)
    finally:
        server.close()
    return None


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    ("answer", "failure"),
    [
        (None, "http_fetch_timeout"),
        (b"hello\r\n\r\n", "http_fetch_malformed"),
        (b"HTTP/1.1 abc OK\r\n\r\n", "http_fetch_malformed"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", "http_fetch_connection"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", None),
    ],
)
def test_a_failed_fetch_is_named_by_how_it_failed(answer, failure):
    assert asyncio.run(_failure(answer)) == failure


def test_a_refused_connection_is_a_connection_failure():
    assert asyncio.run(_failure(b"", port=_closed_port())) == "http_fetch_connection"
