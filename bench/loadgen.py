"""A small closed-loop HTTP/1.1 load generator: asyncio, raw keep-alive connections.

Each worker process runs ``clients`` connections; every connection sends a request,
reads the whole response, and sends the next one at once (no think time). Only
requests *started* inside the measured window are counted. Like a browser, a client
asks for gzip (``accept_gzip``) and decompresses what comes gzipped; otherwise it
does little per request (no header objects, no HTML parsing) so that, on a small
machine, its CPU use stays a small share next to the server's (it is measured
and reported). Bytes are counted as they cross the wire.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
import zlib
from dataclasses import dataclass, field
from typing import Any

READ_LIMIT = 1 << 20
REQUEST_TIMEOUT_S = 30.0


@dataclass
class WorkerConfig:
    host: str
    port: int
    clients: int
    # kind -> (weight, [path, ...])
    mix: dict[str, tuple[float, list[str]]]
    start_at: float  # wall clock (time.time()) when the clients start
    warmup_s: float
    duration_s: float
    # Kinds whose URLs get a never-seen-before query parameter (a page-cache miss), on
    # this share of their requests (1.0: every request, the cold scenario).
    unique_kinds: frozenset[str] = frozenset()
    unique_share: float = 1.0
    worker_id: int = 0
    seed: int = 0
    # Send "Accept-Encoding: gzip" (every browser does) and decompress gzipped bodies.
    accept_gzip: bool = True


@dataclass
class KindStats:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    bytes: int = 0


class ResponseError(Exception):
    pass


CLIENT_ERRORS = (
    OSError,
    EOFError,
    asyncio.IncompleteReadError,
    asyncio.LimitOverrunError,
    TimeoutError,
    ResponseError,
    ValueError,
    zlib.error,
)


@dataclass
class _Head:
    status: int
    length: int | None = None
    chunked: bool = False
    close: bool = False
    gzipped: bool = False


def _parse_head(head: bytes) -> _Head:
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
        raise ResponseError(f"bad status line {lines[0][:80]!r}")
    out = _Head(status=int(parts[1]))
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            out.length = int(value)
        elif name == b"transfer-encoding":
            out.chunked = b"chunked" in value.lower()
        elif name == b"connection":
            out.close = b"close" in value.lower()
        elif name == b"content-encoding":
            out.gzipped = b"gzip" in value.lower()
    return out


async def _body_pieces(reader: asyncio.StreamReader, head: _Head) -> list[bytes]:
    """The body as it came: its chunks, or one piece (up to the server's close when
    there is neither a length nor chunks)."""
    if head.length is not None and not head.chunked:
        return [await reader.readexactly(head.length)]
    if not head.chunked:
        head.close = True
        return [await reader.read()]
    pieces: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")  # no trailers expected
            return pieces
        pieces.append((await reader.readexactly(size + 2))[:-2])


async def read_response(reader: asyncio.StreamReader) -> tuple[int, int, bool]:
    """Read one response; return (status, body bytes on the wire, server closes the
    connection). A gzipped body is decompressed, as a browser would (a bad one raises)."""
    head = _parse_head(await reader.readuntil(b"\r\n\r\n"))
    if head.status in (204, 304) or 100 <= head.status < 200:
        return head.status, 0, head.close
    pieces = await _body_pieces(reader, head)
    if head.gzipped:
        inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        for piece in pieces:
            inflate.decompress(piece)
        if not inflate.eof:
            raise ResponseError("gzipped body cut short")
    return head.status, sum(map(len, pieces)), head.close


class _Loader:
    """The clients of one worker process, sharing its URL picker and statistics."""

    def __init__(self, cfg: WorkerConfig) -> None:
        self.cfg = cfg
        self.accept = b"Accept: */*\r\nAccept-Encoding: gzip" if cfg.accept_gzip else b"Accept: */*"
        self.loop = asyncio.get_running_loop()
        self.rng = random.Random(cfg.seed * 1000 + cfg.worker_id)
        self.kinds = list(cfg.mix)
        self.cum_weights = list(itertools.accumulate(cfg.mix[k][0] for k in self.kinds))
        self.host_header = f"{cfg.host}:{cfg.port}".encode()
        self.stats = {k: KindStats() for k in self.kinds}
        self.counter = 0
        # Monotonic times of the phases, from the wall-clock start shared by all workers.
        self.t0 = self.loop.time() + (cfg.start_at - time.time())
        self.measure_from = self.t0 + cfg.warmup_s
        self.end = self.measure_from + cfg.duration_s
        self.cpu: dict[str, float] = {}

    def pick(self) -> tuple[str, bytes]:
        kind = self.rng.choices(self.kinds, cum_weights=self.cum_weights)[0]
        path = self.rng.choice(self.cfg.mix[kind][1])
        if kind in self.cfg.unique_kinds and self.rng.random() < self.cfg.unique_share:
            self.counter += 1
            sep = "&" if "?" in path else "?"
            path = f"{path}{sep}_bench={self.cfg.seed}.{self.cfg.worker_id}.{self.counter}"
        request = (
            b"GET " + path.encode() + b" HTTP/1.1\r\nHost: " + self.host_header
            + b"\r\nUser-Agent: pace-bench\r\n" + self.accept + b"\r\n\r\n"
        )  # fmt: skip
        return kind, request

    def record(self, kind: str, started: float, status: int, nbytes: int) -> None:
        if started < self.measure_from:
            return
        s = self.stats[kind]
        s.latencies_ms.append((self.loop.time() - started) * 1000.0)
        s.statuses[status] = s.statuses.get(status, 0) + 1
        s.bytes += nbytes
        if status != 200:
            s.errors += 1

    async def client(self) -> None:
        reader: asyncio.StreamReader | None = None
        writer: asyncio.StreamWriter | None = None
        while self.loop.time() < self.end:
            if reader is None or writer is None:  # both set together or neither
                try:
                    reader, writer = await asyncio.open_connection(
                        self.cfg.host, self.cfg.port, limit=READ_LIMIT
                    )
                except OSError:
                    await asyncio.sleep(0.05)
                    continue
            kind, request = self.pick()
            started = self.loop.time()
            try:
                async with asyncio.timeout(REQUEST_TIMEOUT_S):
                    writer.write(request)
                    status, nbytes, close = await read_response(reader)
            except CLIENT_ERRORS:
                if started >= self.measure_from:
                    self.stats[kind].errors += 1
                close = True
            else:
                self.record(kind, started, status, nbytes)
            if close:
                writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    def snap(self, label: str) -> None:
        self.cpu[label] = time.process_time()

    async def run(self) -> dict[str, Any]:
        self.loop.call_at(self.measure_from, self.snap, "start")
        await asyncio.sleep(max(0.0, self.t0 - self.loop.time()))
        await asyncio.gather(*(self.client() for _ in range(self.cfg.clients)))
        self.snap("end")
        return {
            "worker": self.cfg.worker_id,
            "cpu_s": self.cpu["end"] - self.cpu.get("start", self.cpu["end"]),
            "kinds": {
                k: {
                    "latencies_ms": s.latencies_ms,
                    "errors": s.errors,
                    "statuses": s.statuses,
                    "bytes": s.bytes,
                }
                for k, s in self.stats.items()
            },
        }


async def _run(cfg: WorkerConfig) -> dict[str, Any]:
    return await _Loader(cfg).run()


def run_worker(cfg: WorkerConfig) -> dict[str, Any]:
    """Entry point of a load process."""
    return asyncio.run(_run(cfg))
