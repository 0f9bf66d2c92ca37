"""A request whose head is too long or malformed is answered with its reason.

daphne serves HTTP with Twisted's ``HTTPChannel``, which reads a request's head line by
line. A line longer than its 16 KB (a request line with a 100 KB query string, a 60 KB
cookie) made it drop the connection without a word (``LineReceiver.lineLengthExceeded``):
a browser shows "connection reset", a client library raises a network error, and nobody
learns why. A head over ``totalHeadersSize`` or ``maxHeaders``, or a line it cannot parse,
got a bare ``400 Bad Request`` with no body. Here they are answered as HTTP says, with a
short plain-text reason: 414 URI Too Long for a request line over the limit, 431 Request
Header Fields Too Large for a header line or a whole head over it, 400 otherwise; then the
connection is closed, as before (the rest of the request is not read).

It reads ``HTTPChannel``'s private ``__first_line``, ``_receivedHeaderSize`` and
``_receivedHeaderCount``. Written against daphne 4.2.3 / Twisted 26.10.0 / autobahn
26.11.1; checked by pace/tests/test_daphne_patches_upstream.py.
"""

from __future__ import annotations

from typing import Any

from twisted.web import http

_installed = False


def _answer(channel: Any, status: str, reason: str) -> None:
    body = reason.encode() + b"\n"
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    channel.transport.write(head.encode() + body)
    channel.loseConnection()


def _line_too_long(channel: Any, line: bytes) -> None:
    """``LineReceiver.lineLengthExceeded``: one line of the head is over ``MAX_LENGTH``."""
    limit = channel.MAX_LENGTH
    if getattr(channel, "_HTTPChannel__first_line", 0):  # still reading the request line
        _answer(
            channel,
            "414 URI Too Long",
            f"The request line is longer than {limit} bytes: shorten its address or query.",
        )
    else:
        _answer(
            channel,
            "431 Request Header Fields Too Large",
            f"A request header is longer than {limit} bytes.",
        )


def _bad_request(channel: Any) -> None:
    """``HTTPChannel._respondToBadRequestAndDisconnect``, with the reason."""
    if channel._receivedHeaderSize > channel.totalHeadersSize:
        _answer(
            channel,
            "431 Request Header Fields Too Large",
            f"The request's headers are longer than {channel.totalHeadersSize} bytes in all.",
        )
    elif channel._receivedHeaderCount > channel.maxHeaders:
        _answer(
            channel,
            "431 Request Header Fields Too Large",
            f"The request has more than {channel.maxHeaders} headers.",
        )
    else:
        _answer(
            channel,
            "400 Bad Request",
            "The request is malformed (its request line, a header or its body's framing).",
        )


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    # What each replaces stays reachable (``inspect.unwrap``): the upstream test hashes it.
    _line_too_long.__wrapped__ = http.HTTPChannel.lineLengthExceeded  # type: ignore[attr-defined]
    _bad_request.__wrapped__ = http.HTTPChannel._respondToBadRequestAndDisconnect  # type: ignore[attr-defined]
    http.HTTPChannel.lineLengthExceeded = _line_too_long  # type: ignore[method-assign]
    http.HTTPChannel._respondToBadRequestAndDisconnect = _bad_request  # type: ignore[method-assign]
