"""The load generator's WebSocket client reads every frame whole, however the bytes
arrive: the figures of bench/live.py are only as good as its parsing."""

from __future__ import annotations

import asyncio
import itertools
import struct
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bench.ws_client import WsClient


def server_frame(payload: bytes, opcode: int = 1, fin: bool = True) -> bytes:
    """An unmasked frame as a server writes it (RFC 6455 §5.2)."""
    n = len(payload)
    b0 = (0x80 if fin else 0) | opcode
    if n < 126:
        head = bytes((b0, n))
    elif n < 65536:
        head = struct.pack("!BBH", b0, 126, n)
    else:
        head = struct.pack("!BBQ", b0, 127, n)
    return head + payload


class Transport:
    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True


class Recorder(WsClient):
    def __init__(self) -> None:
        super().__init__("127.0.0.1", 8000, "/ws/live/1/")
        self.got: list[tuple[bytes, int]] = []

    def on_message(self, payload: Any, nbytes: int) -> None:
        self.got.append((bytes(payload), nbytes))


# A message: its payload, and how many fragments it is sent in.
messages = st.lists(
    st.tuples(
        st.one_of(
            st.binary(max_size=300),
            st.integers(120, 70_000).map(lambda n: b"x" * n),  # the 16- and 64-bit lengths
        ),
        st.integers(1, 3),
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=60, deadline=None)
@given(
    messages=messages,
    cuts=st.lists(st.integers(1, 80_000), max_size=12),
    at_frames=st.booleans(),
    ping=st.booleans(),
)
def test_every_message_arrives_whole_and_in_order_however_the_reads_split(
    messages: list[tuple[bytes, int]], cuts: list[int], at_frames: bool, ping: bool
) -> None:
    """Reads cut anywhere, or (``at_frames``: the common case, read from the start of a
    frame) also at every frame's end."""

    async def run() -> None:
        client = Recorder()
        transport = Transport()
        client.connection_made(transport)
        wire = bytearray(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n")
        sizes = []
        ends = [len(wire)]
        for payload, parts in messages:
            # Fragments: the first carries the opcode, the rest are continuations.
            step = len(payload) // parts + 1
            pieces = [payload[i * step : (i + 1) * step] for i in range(parts)]
            start = len(wire)
            for i, piece in enumerate(pieces):
                wire += server_frame(piece, opcode=1 if i == 0 else 0, fin=i == len(pieces) - 1)
                ends.append(len(wire))
                if ping and i == 0:
                    wire += server_frame(b"hi", opcode=9)  # a ping between fragments
                    ends.append(len(wire))
            sizes.append((payload, len(wire) - start))
        points = sorted(
            {c % len(wire) for c in cuts}
            | {0, ends[0], len(wire)}
            | (set(ends) if at_frames else set())
        )
        for a, b in itertools.pairwise(points):
            client.data_received(bytes(wire[a:b]))
        assert [g[0] for g in client.got] == [m for m, _ in sizes]
        # nbytes: the last frame's size (a message's fragments are counted as they end)
        assert all(n > 0 for _, n in client.got)
        if ping:
            pongs = [w for w in transport.written[1:] if w[0] == 0x8A]
            assert len(pongs) == len(messages)

    asyncio.run(run())


def test_a_close_frame_closes_and_says_why() -> None:
    async def run() -> None:
        client = Recorder()
        transport = Transport()
        client.connection_made(transport)
        client.data_received(
            b"HTTP/1.1 101 Switching Protocols\r\n\r\n"
            + server_frame(b'{"type":"tick"}')
            + server_frame(b"\x03\xf5retry=5", opcode=8)
            + server_frame(b"after close")
        )
        assert client.got == [(b'{"type":"tick"}', 17)]
        assert (client.close_code, client.close_reason) == (1013, "retry=5")
        assert transport.closed

    asyncio.run(run())
