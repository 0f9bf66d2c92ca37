"""A WebSocket consumer's way out: prebuilt frames straight onto daphne's socket.

Through ASGI, every frame a consumer sends walks daphne's ``handle_reply`` coroutine,
its header checks, a UTF-8 encode, then autobahn's ``sendMessage``, ``sendFrame``
(which joins header and payload into a new string) and ``sendData`` (which formats
two debug-log arguments, logging on or not). A live race sends ten thousand frames a
tick from one process, and a big race's ``field`` frame, the same 200 KB for every
spectator, was encoded and copied twice per spectator: at 5,000 athletes and 20,000
spectators that walk was a third of a daphne process's CPU (bench/live.py profile).

An :class:`Outlet` writes a frame built once (:func:`text_frame`) to the connection's
transport, as autobahn itself would for an open connection with nothing queued, no
compression and no fragmentation (daphne negotiates neither). In any other state, or
under another server (tests' in-memory communicator), it sends through ASGI as
before; either way the frames of one connection leave in the order they were given.

Written against daphne 4.2.3 / Twisted 26.10.0 / autobahn 26.11.1; checked by
pace/tests/test_daphne_patches_upstream.py.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Awaitable, Callable
from typing import Any

Send = Callable[[dict[str, Any]], Awaitable[None]]


def frame_header(size: int) -> bytes:
    """The header of a final, unmasked WebSocket text frame of ``size`` payload bytes."""
    if size <= 125:
        return bytes((0x81, size))
    if size <= 0xFFFF:
        return struct.pack("!BBH", 0x81, 126, size)
    return struct.pack("!BBQ", 0x81, 127, size)


def frame_header_size(frame: bytes) -> int:
    """The length of the header of a frame from ``frame_header`` (to read its payload)."""
    return {126: 4, 127: 10}.get(frame[1], 2)


def text_frame(text: str) -> bytes:
    """``text`` as one final, unmasked WebSocket text frame (RFC 6455 §5.2): what a server
    writes to the wire for it."""
    payload = text.encode()
    return frame_header(len(payload)) + payload


def _daphne_protocol(send: Send) -> Any:
    """The autobahn protocol behind daphne's ``send`` (``partial(server.handle_reply,
    protocol)``), or None under another server."""
    if not isinstance(send, functools.partial) or len(send.args) != 1:
        return None
    owner = getattr(send.func, "__self__", None)
    if type(owner).__module__ != "daphne.server" or send.func.__name__ != "handle_reply":
        return None
    return send.args[0]


class Outlet:
    """Where one connection's frames go."""

    __slots__ = ("protocol", "queued", "send")

    def __init__(self, send: Send) -> None:
        self.send = send
        self.protocol = _daphne_protocol(send)
        self.queued = 0  # frames a sender holds for this connection (a hub's outbox)

    def writable(self) -> bool:
        """Whether ``write`` may put a frame on the wire now; otherwise use ``send_text``."""
        protocol = self.protocol
        return (
            protocol is not None
            and protocol.state == protocol.STATE_OPEN
            and not protocol.send_queue
            and protocol._perMessageCompress is None
        )

    def backlog(self) -> int:
        """Bytes written to this connection that its socket has not taken yet (Twisted
        holds them until the peer reads); 0 where the transport does not say (TLS, other
        servers): there only the ping timeout drops a spectator that stops reading."""
        protocol = self.protocol
        if protocol is None:
            return 0
        transport = protocol.transport
        try:
            return len(transport.dataBuffer) - transport.offset + transport._tempDataLen
        except AttributeError:  # not a plain TCP transport (daphne's TLS endpoint)
            return 0

    def idle_transport(self) -> Any:
        """The connection's TCP transport when a frame may go straight to its socket: open,
        nothing waiting anywhere (our sender, autobahn's queue, Twisted's buffers), not
        closing, not TLS; otherwise None (then ``backlog`` and ``writable`` say more). One
        call where a tick's frame would take three (``backlog``, ``writable``, ``write``),
        for ten thousand viewers a tick; write to it with ``twisted_tcp.send_now``."""
        protocol = self.protocol
        if (
            self.queued
            or protocol is None
            or protocol.state != protocol.STATE_OPEN
            or protocol.send_queue
            or protocol._perMessageCompress is not None
        ):
            return None
        transport = protocol.transport
        try:
            if (
                transport.offset != len(transport.dataBuffer)
                or transport._tempDataLen
                or transport.TLS
                or not transport.connected
                or transport._writeDisconnected
            ):
                return None
        except AttributeError:  # not a plain TCP transport (daphne's TLS endpoint, tests')
            return None
        return transport

    def write(self, frame: bytes) -> None:
        """A frame from :func:`text_frame`, to the transport now (after ``writable``)."""
        self.protocol.transport.write(frame)

    async def send_text(self, text: str) -> None:
        """A text frame through ASGI (closed sockets are the server's business)."""
        await self.send({"type": "websocket.send", "text": text})

    async def put(self, text: str) -> None:
        """A text frame by the quickest way open."""
        if self.writable():
            self.write(text_frame(text))
        else:
            await self.send_text(text)

    async def close(self, code: int, reason: str) -> None:
        """Close with a code and a reason (``retry=S``, PROTOCOL.md's overload rule): daphne
        drops an ASGI close's reason, so under daphne the protocol closes it itself, after
        the frames already given to it (with the frame autobahn sends for its own
        failures: its ``sendClose`` takes no 1xxx code but 1000, 1013 included)."""
        protocol = self.protocol
        if protocol is not None and protocol.state == protocol.STATE_OPEN:
            protocol.sendCloseFrame(code=code, reasonUtf8=reason.encode()[:123])
        else:
            await self.send({"type": "websocket.close", "code": code, "reason": reason})
