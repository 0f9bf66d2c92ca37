"""Twisted's access-log line, which nobody saw, is no longer formatted for every request
(``pace/daphne_patches/accesslog.py``); daphne's own access log still has each request."""

from __future__ import annotations

import io
import urllib.request
from pathlib import Path

from daphne.http_protocol import HTTPFactory
from twisted.internet.address import IPv4Address
from twisted.web.http_headers import Headers

from pace.daphne_patches import accesslog
from pace.lib.testing import eventually
from tracking.tests.serving import daphne_server


class _Request:
    """What Twisted's combined-log formatter reads of a request (Twisted's names)."""

    method, uri, clientproto, code = b"GET", b"/healthz", b"HTTP/1.1", 200
    sentLength = 16  # noqa: N815
    requestHeaders = Headers({b"user-agent": [b"probe"]})  # noqa: N815

    def getClientAddress(self) -> IPv4Address:  # noqa: N802
        return IPv4Address("TCP", "127.0.0.1", 50000)

    def getHeader(self, name: bytes) -> bytes | None:  # noqa: N802
        values = self.requestHeaders.getRawHeaders(name)
        return values[-1] if values else None


def test_daphnes_factory_writes_no_line_of_its_own() -> None:
    accesslog.install()  # as pace.asgi does (importing it here would start its scheduler)
    factory = HTTPFactory(server=None)
    factory._logFile = written = io.StringIO()
    factory._logDateTime = "[04/Dec/2026:19:00:00 +0000]"
    factory.log(_Request())
    assert written.getvalue() == ""


def test_daphnes_own_access_log_has_each_request(tmp_path: Path) -> None:
    with daphne_server(tmp_path) as server:
        for n in range(3):
            urllib.request.urlopen(f"{server.url}/healthz?probe={n}", timeout=10).read()

        def logged() -> None:
            text = (tmp_path / "daphne.log").read_text(errors="replace")
            for n in range(3):
                assert text.count(f'"GET /healthz?probe={n}" 200') == 1, text[-2000:]

        eventually(logged, timeout=10)
