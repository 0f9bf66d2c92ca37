"""The HTTP load generator reads responses as a browser does: gzip asked for and inflated."""

from __future__ import annotations

import asyncio
import gzip
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.loadgen import ResponseError, read_response


def _read(raw: bytes) -> tuple[int, int, bool]:
    async def go() -> tuple[int, int, bool]:
        reader = asyncio.StreamReader()
        reader.feed_data(raw)
        reader.feed_eof()
        return await read_response(reader)

    return asyncio.run(go())


def _chunked(body: bytes, size: int) -> bytes:
    pieces = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


@given(body=st.binary(max_size=3000), size=st.integers(1, 700), gz=st.booleans())
@settings(max_examples=80, deadline=None)
def test_it_reads_a_body_by_length_or_in_chunks_counting_the_bytes_on_the_wire(body, size, gz):
    wire = gzip.compress(body) if gz else body
    encoding = b"Content-Encoding: gzip\r\n" if gz else b""
    by_length = b"HTTP/1.1 200 OK\r\n%sContent-Length: %d\r\n\r\n%s" % (encoding, len(wire), wire)
    chunked = b"HTTP/1.1 200 OK\r\n%sTransfer-Encoding: chunked\r\n\r\n" % encoding + _chunked(
        wire, size
    )
    assert _read(by_length) == (200, len(wire), False)
    assert _read(chunked) == (200, len(wire), False)


def test_a_gzipped_body_that_does_not_inflate_is_an_error():
    wire = gzip.compress(b"<p>page</p>" * 100)[:-20]
    head = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(wire)
    with pytest.raises(ResponseError):
        _read(head + wire)
    with pytest.raises(zlib.error):  # not gzip at all
        _read(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\nnope")
