"""Incoming frames read by ``inbound.data_received`` reach the application exactly as
autobahn's own reader would deliver them, whatever the frames and however TCP cuts them."""

from __future__ import annotations

import itertools
import os
import struct
from typing import Any

from autobahn.twisted.websocket import (
    WebSocketAdapterProtocol,
    WebSocketServerFactory,
    WebSocketServerProtocol,
)
from daphne.ws_protocol import WebSocketProtocol as DaphneProtocol
from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.internet.address import IPv4Address
from twisted.internet.testing import StringTransport

from pace.daphne_patches import inbound


class Queue(list[dict[str, Any]]):
    """daphne's application queue, as far as a protocol uses it."""

    def put_nowait(self, item: dict[str, Any]) -> None:
        self.append(item)


class Transport(StringTransport):
    """A TCP transport that keeps what is written; closing with no producer is fine."""

    def unregisterProducer(self) -> None:  # noqa: N802 (Twisted's name)
        self.producer = None


class Peer(WebSocketServerProtocol):
    """autobahn's server protocol, delivering messages as daphne's does (its onMessage)."""

    muted = False
    client_addr = ("127.0.0.1", 50000)  # daphne's onMessage logs it
    onMessage = DaphneProtocol.onMessage  # noqa: N815 (autobahn's name)

    def onConnect(self, request: Any) -> None:  # noqa: N802 (autobahn's name)
        return None  # accepted


def _open_connection(limit: int = 0) -> tuple[Any, Any, Transport]:
    """A connection past a real opening handshake, with an application queue."""
    factory: Any = WebSocketServerFactory()  # Twisted's stubs know no autobahn protocol
    factory.protocol = Peer
    factory.setProtocolOptions(maxFramePayloadSize=limit, maxMessagePayloadSize=limit)
    protocol = factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", 50000))
    transport = Transport()
    protocol.makeConnection(transport)
    WebSocketAdapterProtocol.dataReceived(
        protocol,
        b"GET /ws/track/ HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\n\r\n",
    )
    assert protocol.state == protocol.STATE_OPEN, transport.value()
    transport.clear()
    protocol.application_queue = Queue()
    return None, protocol, transport


def frame(opcode: int, payload: bytes, *, fin: bool = True, rsv: int = 0, masked: bool = True,
          long_form: bool = False) -> bytes:  # fmt: skip
    """One client frame (RFC 6455 §5.2): masked with a random key unless told not to;
    ``long_form``: the length in 16 bits even when it fits in 7 (not allowed)."""
    size = len(payload)
    first = (0x80 if fin else 0) | (rsv << 4) | opcode
    bit = 0x80 if masked else 0
    if size < 126 and not long_form:
        head = struct.pack("!BB", first, bit | size)
    elif size <= 0xFFFF:
        head = struct.pack("!BBH", first, bit | 126, size)
    else:
        head = struct.pack("!BBQ", first, bit | 127, size)
    if not masked:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


texts = st.text(max_size=300) | st.builds(lambda n: "é" * n, st.integers(60, 5000))
FRAMES = st.one_of(
    # What phones and pages send: whole text frames (most of the weight).
    *[texts.map(lambda t: frame(1, t.encode()))] * 6,
    st.builds(lambda n: frame(1, b"x" * n), st.sampled_from([125, 126, 8192, 8193, 70000])),
    # Everything else goes to autobahn: pings, closes, binary, fragments, bad frames.
    st.binary(max_size=125).map(lambda b: frame(9, b)),
    st.binary(max_size=20).map(lambda b: frame(10, b)),
    st.binary(max_size=200).map(lambda b: frame(2, b)),
    st.tuples(texts, texts).map(
        lambda p: frame(1, p[0].encode(), fin=False) + frame(0, p[1].encode())
    ),
    st.sampled_from([b"\xff\xfe", b"\xed\xa0\x80", b"a\xc3", b"\xc0\xaf"]).map(
        lambda b: frame(1, b)
    ),
    texts.map(lambda t: frame(1, t.encode(), masked=False)),
    texts.map(lambda t: frame(1, t.encode(), rsv=1)),
    st.just(frame(1, b"short", long_form=True)),
    st.just(frame(8, struct.pack("!H", 1000) + b"bye")),
    st.just(frame(3, b"reserved opcode")),
)


@st.composite
def streams(draw: Any) -> tuple[list[bytes], int]:
    """Frames as TCP delivers them: cut anywhere, glued together; and a size limit."""
    data = b"".join(draw(st.lists(FRAMES, max_size=12)))
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=6)))
    edges = [0, *cuts, len(data)]
    limit = draw(st.sampled_from([0, 100, 1000, 65536]))
    return [data[a:b] for a, b in itertools.pairwise(edges)], limit


def _deliver(chunks: list[bytes], limit: int, reader: Any) -> tuple[Any, ...]:
    _, protocol, transport = _open_connection(limit)
    for chunk in chunks:
        reader(protocol, chunk)
    return protocol.application_queue, transport.value(), protocol.state, protocol.wasNotCleanReason


@settings(max_examples=400, deadline=None)
@given(stream=streams())
def test_the_application_gets_what_autobahn_would_give_it(stream: tuple[list[bytes], int]) -> None:
    chunks, limit = stream
    ours = _deliver(chunks, limit, inbound.data_received)
    theirs = _deliver(chunks, limit, WebSocketAdapterProtocol.dataReceived)
    assert ours == theirs


def test_whole_text_frames_are_read_without_autobahn(monkeypatch: Any) -> None:
    """The common case never reaches autobahn's reader: one segment of several frames."""
    calls: list[bytes] = []
    monkeypatch.setattr(inbound, "_autobahn_data_received", lambda p, d: calls.append(d))
    _, protocol, _ = _open_connection()
    queue = protocol.application_queue
    sent = ['{"type":"pos","seq":1}', "", "é" * 100, "x" * 126, "y" * 8192]
    inbound.data_received(protocol, b"".join(frame(1, t.encode()) for t in sent))
    assert [m["text"] for m in queue] == sent and calls == []
    # A ping after them: the frames before it are read here, the ping goes to autobahn.
    ping, after = frame(9, b"hi"), frame(1, b"b")
    inbound.data_received(protocol, frame(1, b"a") + ping + after)
    assert queue[-1] == {"type": "websocket.receive", "text": "a"}
    assert calls == [ping + after]


def test_a_muted_connection_gets_nothing() -> None:
    _, protocol, _ = _open_connection()
    queue = protocol.application_queue
    protocol.muted = True
    inbound.data_received(protocol, frame(1, b"hello"))
    assert queue == []
