"""A real daphne serving Pace answers a request head it will not read with its reason
(``pace/daphne_patches/httphead.py``): 414 for a request line over 16 KB, 431 for a
header over it or a head over it in all (or over 500 headers), 400 for a malformed one,
each with a plain-text body; never a connection dropped without a word."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracking.tests.serving import Server, daphne_server

LIMIT = 16384  # Twisted's HTTPChannel: MAX_LENGTH a line, totalHeadersSize in all
MAX_HEADERS = 500


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with daphne_server(tmp_path_factory.mktemp("httphead")) as served:
        yield served


def _ask(server: Server, head: bytes) -> tuple[int, bytes]:
    """Send ``head`` whole; the status and body of the answer (0: closed without one)."""
    port = int(server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=20) as conn:
        conn.sendall(head)
        got = b""
        while chunk := conn.recv(65536):
            got += chunk
            if b"\r\n\r\n" in got and b"Connection: close" not in got.split(b"\r\n\r\n")[0]:
                break  # a page (keep-alive): its head is enough here
    if not got:
        return 0, b""
    status = int(got.split(b" ", 2)[1])
    return status, got.partition(b"\r\n\r\n")[2]


def _head(query: int, headers: list[bytes]) -> bytes:
    lines = [b"GET /healthz?q=" + b"a" * query + b" HTTP/1.1", b"Host: 127.0.0.1", *headers]
    return b"\r\n".join([*lines, b"", b""])


def _expected(head: bytes) -> int | None:
    """What Twisted's reading of ``head`` ends in: 414 or 431 or None (read whole), line
    by line as ``LineReceiver`` and ``HTTPChannel`` do (a header is taken when the next
    line comes)."""
    total, count, held = 0, 0, False
    for index, line in enumerate(head.split(b"\r\n")[:-1]):
        if len(line) > LIMIT:
            return 414 if index == 0 else 431
        total += len(line)
        if total > LIMIT:
            return 431
        if index and held:  # the header before this line is taken now
            count += 1
            if count > MAX_HEADERS:
                return 431
        held = bool(line) and index > 0
    return None


def test_a_request_line_over_the_limit_gets_414_with_the_reason(server: Server) -> None:
    status, body = _ask(server, _head(100_000, []))
    assert status == 414
    assert b"request line is longer than 16384 bytes" in body


def test_a_header_over_the_limit_gets_431(server: Server) -> None:
    status, body = _ask(server, _head(10, [b"Cookie: " + b"c" * 60_000]))
    assert status == 431
    assert b"A request header is longer than 16384 bytes" in body


def test_headers_over_the_limit_in_all_or_in_number_get_431(server: Server) -> None:
    status, body = _ask(server, _head(10, [b"X-Pad-%d: " % i + b"p" * 2000 for i in range(9)]))
    assert (status, body) == (431, b"The request's headers are longer than 16384 bytes in all.\n")
    status, body = _ask(server, _head(10, [b"X-%d: v" % i for i in range(600)]))
    assert (status, body) == (431, b"The request has more than 500 headers.\n")


def test_a_malformed_header_gets_400_with_the_reason(server: Server) -> None:
    status, body = _ask(server, _head(10, [b"no colon here"]))
    assert status == 400
    assert b"The request is malformed" in body


def test_a_head_within_the_limits_is_served(server: Server) -> None:
    status, _ = _ask(server, _head(LIMIT - 200, []))
    assert status == 200


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    query=st.one_of(st.integers(0, 200), st.integers(LIMIT - 100, LIMIT + 100)),
    big=st.lists(st.integers(0, LIMIT + 50), max_size=3),
    small=st.integers(0, MAX_HEADERS + 20),
)
def test_any_head_is_answered_with_a_status_never_dropped(
    server: Server, query: int, big: list[int], small: int
) -> None:
    headers = [b"X-Big-%d: " % i + b"b" * n for i, n in enumerate(big)]
    headers += [b"X-%d: v" % i for i in range(small)]
    head = _head(query, headers)
    status, body = _ask(server, head)
    expected = _expected(head)
    if expected is None:
        assert status == 200
    else:
        assert status == expected and body.endswith(b".\n")


def test_the_model_of_twisted_agrees_on_the_edges() -> None:
    """The test's own model, at the limits it must tell apart."""
    assert _expected(_head(LIMIT, [])) == 414  # the request line holds "GET /healthz?q=..."
    assert _expected(b"GET / HTTP/1.1\r\n" + b"X: " + b"v" * (LIMIT - 3) + b"\r\n\r\n") == 431
    assert _expected(b"GET / HTTP/1.1\r\n" + b"X: v\r\n" * MAX_HEADERS + b"\r\n") is None
    assert _expected(b"GET / HTTP/1.1\r\n" + b"X: v\r\n" * (MAX_HEADERS + 1) + b"\r\n") == 431
