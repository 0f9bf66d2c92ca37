"""A WebSocket's incoming text frames read straight off daphne's socket.

Every frame a client sends walks autobahn's reader: ``dataReceived`` (a debug message
whose arguments are formatted, logging on or not), ``_dataReceived``, ``consumeData``,
``processData`` twice (the header, then the payload), a cffi XOR masker created for
the frame, a cffi UTF-8 validator, ``onFrameBegin`` / ``onFrameData`` / ``onFrameEnd``,
``onMessageBegin`` / ``onMessageFrameBegin`` / ``onMessageFrameData`` /
``onMessageFrameEnd`` / ``onMessageEnd`` (lists built and joined for a one-frame
message), then daphne's ``onMessage``, which decodes the bytes again. 5,000 phones
sending a fix a second are 5,000 such walks a second: a third of a live daphne process's
CPU (bench/live profile, 2026-12-04).

:func:`data_received` reads the common case itself: whole, final, masked, uncompressed
text frames (all a browser or phone sends but pings and closes) within daphne's size
limits, on an open connection whose reader holds nothing (no partial frame, no
fragmented message). Each payload is unmasked in one XOR of two integers, decoded as
strict UTF-8 (what autobahn's validator accepts, RFC 3629) and queued for the
application as daphne's ``onMessage`` queues it. At the first byte it does not take
(a control frame, a fragment, a frame cut by the segment's end, invalid UTF-8, a frame
over the limit, anything else), it hands the rest of the data to autobahn's reader,
which does what it always did, errors and closes included. Frames are queued in the
order they came, whichever reader read them.

Written against daphne 4.2.3 / Twisted 26.10.0 / autobahn 26.11.1; checked by
pace/tests/test_daphne_patches_upstream.py.
"""

from __future__ import annotations

import time
from typing import Any

_installed = False
# Bigger frames (a phone's backlog after a reconnect, up to 500 fixes) are rare: autobahn's
# SIMD masker unmasks them faster than two integers do.
FAST_MAX = 8192


def _unmask(payload: bytes, mask: bytes) -> bytes:
    """``payload`` XORed with the repeated 4-byte ``mask`` (RFC 6455 §5.3), in one C-speed
    XOR of two integers (a client draws a new mask for every frame)."""
    size = len(payload)
    key = (mask * ((size >> 2) + 1))[:size]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(key, "little")).to_bytes(
        size, "little"
    )


def _limit(protocol: Any) -> int:
    """The largest payload this connection takes in one frame (0: no limit)."""
    limits = [n for n in (protocol.maxFramePayloadSize, protocol.maxMessagePayloadSize) if n > 0]
    return min(limits) if limits else 0


def _payload_at(data: bytes, at: int, size: int, limit: int) -> tuple[int, int] | None:
    """Where the payload of the whole, final, masked text frame at ``at`` starts and ends,
    or None when what is there is anything else (autobahn's to read)."""
    if size - at < 6 or data[at] != 0x81:  # FIN, no RSV bit, opcode 1 (text)
        return None
    second = data[at + 1]
    if not second & 0x80:  # unmasked: autobahn refuses it
        return None
    length = second & 0x7F
    head = 6
    if length == 126:
        if size - at < 8:
            return None
        length = (data[at + 2] << 8) | data[at + 3]
        if length < 126:  # not the shortest encoding: autobahn refuses it
            return None
        head = 8
    elif length == 127:
        return None  # 64-bit lengths: autobahn
    end = at + head + length
    if end > size or length > FAST_MAX or (limit and length > limit):
        return None
    return at + head, end


def data_received(protocol: Any, data: bytes) -> None:
    """daphne's ``WebSocketProtocol.dataReceived``: whole text frames read here, the rest
    by autobahn (``_autobahn_data_received``)."""
    if (
        protocol.state != protocol.STATE_OPEN
        or protocol.data
        or protocol.current_frame is not None
        or protocol.inside_message
        or protocol._perMessageCompress is not None
        or protocol.logOctets
        or protocol.logFrames
        or protocol.trackedTimings
    ):
        _autobahn_data_received(protocol, data)
        return
    limit = _limit(protocol)
    size = len(data)
    at = 0
    texts: list[str] = []
    while (payload := _payload_at(data, at, size, limit)) is not None:
        start, end = payload
        try:
            texts.append(_unmask(data[start:end], data[start - 4 : start]).decode())
        except UnicodeDecodeError:
            break  # autobahn fails the connection (1007)
        at = end
    if texts:
        _deliver(protocol, texts)
    if at < size:
        _autobahn_data_received(protocol, data[at:] if at else data)


def _deliver(protocol: Any, texts: list[str]) -> None:
    """What autobahn then daphne do with a whole text message, minus the bookkeeping
    nothing reads: traffic counts, per-message lists."""
    if protocol.autoPingTimeoutCall and protocol.autoPingRestartOnAnyTraffic:
        protocol._cancelAutoPingTimeoutCall()  # any frame stands for a late pong
    if protocol.muted:
        return
    protocol.last_ping = time.time()
    put = protocol.application_queue.put_nowait
    for text in texts:
        put({"type": "websocket.receive", "text": text})


def _autobahn_data_received(protocol: Any, data: bytes) -> None:
    """autobahn's reader, without its debug message's formatted arguments."""
    protocol._dataReceived(data)


def install() -> None:
    """daphne's WebSocket protocol reads its text frames with ``data_received``."""
    global _installed
    if _installed:
        return
    from daphne.ws_protocol import WebSocketProtocol

    WebSocketProtocol.dataReceived = data_received
    _installed = True
