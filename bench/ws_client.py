"""A minimal WebSocket client for the live benchmark's load generator: RFC 6455 framing on
``asyncio.Protocol``, no extensions, cheap per frame (most frames are only skimmed)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
from typing import Any

SKIM_BYTES = 16_384  # frames this big whose body is not read are not gathered


# --- a minimal WebSocket client ------------------------------------------------------------


def _mask(payload: bytes) -> bytes:
    """Client frames are masked (RFC 6455 §5.3): a random key, XOR as one big integer."""
    key = os.urandom(4)
    n = len(payload)
    reps = key * (n // 4 + 1)
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(reps[:n], "big")).to_bytes(n, "big")
    return key + masked


def encode_frame(payload: bytes, opcode: int = 1) -> bytes:
    n = len(payload)
    if n < 126:
        head = bytes((0x80 | opcode, 0x80 | n))
    elif n < 65536:
        head = bytes((0x80 | opcode, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 0x80 | 127)) + n.to_bytes(8, "big")
    return head + (_mask(payload) if n else os.urandom(4))


class WsClient(asyncio.Protocol):
    """Handshake, then whole messages to ``on_message(payload: bytes, nbytes)``; pongs pings."""

    # What a subclass's __init__ was given, to start it over on a retried connection.
    init_args: tuple[Any, ...]

    def __init__(self, host: str, port: int, path: str) -> None:
        self.request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}"
            f"\r\nSec-WebSocket-Version: 13\r\nOrigin: http://{host}:{port}\r\n\r\n"
        ).encode()
        self.buf = bytearray()
        self.open = False
        self.closed = False
        self.transport: asyncio.Transport | None = None
        self.ready: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.parts: list[bytes] = []
        self.close_code: int | None = None
        self.close_reason = ""
        # A refused upgrade: its HTTP status and Retry-After (seconds), when it had one.
        self.http_status: int | None = None
        self.retry_after: float | None = None
        self.bytes_in = 0  # received on this socket, the handshake's response included
        # A big frame whose body nobody reads (``skim``): its first bytes and size, and
        # how many of its bytes are still to come and be dropped.
        self.skimmed: tuple[bytes, int] | None = None
        self.skipping = 0

    # asyncio callbacks
    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.open = False
        if not self.ready.done():
            self.ready.set_result(False)
        self.on_close()

    def data_received(self, data: bytes) -> None:  # noqa: C901
        self.bytes_in += len(data)
        if self.skipping:  # the rest of a skimmed frame: dropped, not copied
            if len(data) < self.skipping:
                self.skipping -= len(data)
                return
            data = data[self.skipping :]
            self.skipping = 0
            head, nbytes = self.skimmed  # type: ignore[misc]
            self.skimmed = None
            self.on_message(head, nbytes)
        buf = self.buf
        if self.open and not buf:
            # The common case: a read that starts with a frame (a tick, whole). Frames are
            # sliced from it as they are; only a frame's unfinished tail is kept in buf.
            data = self._frames_from(data)
            if not data:
                return
        buf += data
        if not self.open:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(buf[:end])
            del buf[: end + 4]
            if not status.startswith(b"HTTP/1.1 101"):
                self._refused(status)
                if not self.ready.done():
                    self.ready.set_result(False)
                self.transport.close()  # type: ignore[union-attr]
                return
            self.open = True
            if not self.ready.done():
                self.ready.set_result(True)
            self.on_open()
        while True:
            n = len(buf)
            if n < 2:
                return
            b0, b1 = buf[0], buf[1] & 0x7F
            if b1 < 126:
                start, size = 2, b1
            elif b1 == 126:
                if n < 4:
                    return
                start, size = 4, int.from_bytes(buf[2:4], "big")
            else:
                if n < 10:
                    return
                start, size = 10, int.from_bytes(buf[2:10], "big")
            if n < start + size:
                if size >= SKIM_BYTES and b0 == 0x81 and n >= start + 16 and not self.parts:
                    head = bytes(buf[start : start + 64])
                    if self.skim(head):
                        # Only its head is read: keep that, drop the rest as it comes
                        # instead of gathering 200 KB (a big race's field) to look at 16.
                        self.skimmed, self.skipping = (head, start + size), start + size - n
                        buf.clear()
                return
            payload = bytes(buf[start : start + size])
            del buf[: start + size]
            opcode = b0 & 0x0F
            if opcode in (1, 2, 0):
                if not b0 & 0x80:
                    self.parts.append(payload)
                    continue
                if self.parts:
                    payload = b"".join([*self.parts, payload])
                    self.parts = []
                self.on_message(payload, start + size)
            elif opcode == 9:
                self.send_raw(encode_frame(payload, 10))
            elif opcode == 8:
                self.close_code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
                self.close_reason = payload[2:].decode(errors="replace")
                self.send_raw(encode_frame(payload[:2], 8))
                self.transport.close()  # type: ignore[union-attr]
                return

    def _frames_from(self, data: bytes) -> bytes:
        """Whole, final, unmasked data frames at the start of ``data`` go to ``on_message``
        without a copy into the buffer; returns what is left from the first frame that is
        anything else (a part, a control frame, an unfinished one) for the general path."""
        pos, n = 0, len(data)
        while n - pos >= 2:
            b0, b1 = data[pos], data[pos + 1]
            if b0 not in (0x81, 0x82) or self.closed:
                break
            if b1 < 126:
                start, size = pos + 2, b1
            elif b1 == 126:
                if n - pos < 4:
                    break
                start, size = pos + 4, int.from_bytes(data[pos + 2 : pos + 4], "big")
            else:
                break  # 64 KB or more: rare, and may be skimmed
            if n < start + size:
                break
            self.on_message(data[start : start + size], start + size - pos)
            pos = start + size
        return data[pos:] if pos else data

    def send_raw(self, frame: bytes) -> None:
        transport = self.transport
        if transport is not None and not self.closed and not transport.is_closing():
            # uvloop raises on a transport its loop closed after an error, which
            # is_closing() does not always say yet.
            with contextlib.suppress(RuntimeError):
                transport.write(frame)

    def send_text(self, text: str | bytes) -> None:
        """A text frame of ``text`` (bytes: already UTF-8, as ``orjson.dumps`` makes it)."""
        self.send_raw(encode_frame(text if isinstance(text, bytes) else text.encode()))

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.send_raw(encode_frame(b"\x03\xe8", 8))
            with contextlib.suppress(RuntimeError):
                self.transport.close()

    def _refused(self, head: bytes) -> None:
        lines = head.split(b"\r\n")
        try:
            self.http_status = int(lines[0].split()[1])
        except (IndexError, ValueError):
            self.http_status = 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"retry-after":
                with contextlib.suppress(ValueError):  # an HTTP date: not what Pace sends
                    self.retry_after = float(value.strip())

    # for subclasses
    def on_open(self) -> None:
        """The upgrade succeeded (frames that came with it follow)."""

    def on_message(self, payload: bytes, nbytes: int) -> None: ...

    def skim(self, head: bytes) -> bool:
        """Whether ``on_message`` needs only the first 64 bytes of a big text frame
        starting with ``head`` (it then gets them, with the frame's whole size, once the
        frame has arrived)."""
        return False

    def on_close(self) -> None: ...
