"""A minimal asyncio HTTP/1.1 GET for the live benchmark's page-like spectators: one
connection per fetch (as a phone's page does for field.json and roster.json), the whole
body read and decompressed as the browser would, Brotli when this Python has it."""

from __future__ import annotations

import asyncio
import gzip
from dataclasses import dataclass

try:
    import brotli
except ImportError:  # pragma: no cover - Pace depends on it; gzip is as good for the bench
    brotli = None

ACCEPT_ENCODING = "br, gzip" if brotli is not None else "gzip"


@dataclass
class Response:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes  # decompressed
    wire_bytes: int  # received: status line, headers and the (compressed) body
    body_wire_bytes: int  # the body as sent (encodedBodySize)


async def get(
    host: str, port: int, path: str, headers: dict[str, str], source: str, timeout: float
) -> Response:
    """GET ``path``; raises OSError / TimeoutError / ValueError on a failed fetch."""
    async with asyncio.timeout(timeout):
        reader, writer = await asyncio.open_connection(host, port, local_addr=(source, 0))
        try:
            head = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: application/json\r\n"
            head += f"Accept-Encoding: {ACCEPT_ENCODING}\r\nConnection: close\r\n"
            head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            writer.write((head + "\r\n").encode())
            raw_head = await reader.readuntil(b"\r\n\r\n")
            lines = raw_head.decode("latin-1").split("\r\n")
            status_line = lines[0].split()
            if len(status_line) < 2 or not status_line[0].startswith("HTTP/"):
                raise ValueError(f"not an HTTP response: {lines[0][:40]!r}")
            status = int(status_line[1])
            hdrs = {}
            for line in lines[1:]:
                name, sep, value = line.partition(":")
                if sep:
                    hdrs[name.strip().lower()] = value.strip()
            if status in (204, 304):
                body = b""
            elif "content-length" in hdrs:
                body = await reader.readexactly(int(hdrs["content-length"]))
            elif hdrs.get("transfer-encoding", "").lower() == "chunked":
                body = await _chunked(reader)
            else:
                body = await reader.read()
        finally:
            writer.close()
    wire = len(raw_head) + len(body)
    coding = hdrs.get("content-encoding", "").lower()
    if coding == "br" and brotli is not None:
        data = brotli.decompress(body)
    elif coding == "gzip":
        data = gzip.decompress(body)
    elif coding in ("", "identity"):
        data = body
    else:
        raise ValueError(f"content-encoding {coding!r}")
    return Response(status, hdrs, data, wire, len(body))


async def _chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)
