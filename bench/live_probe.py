"""What one connection costs the server: handshake + first snapshot (spectator) or
handshake + ``hello`` + ``welcome`` (athlete), on a server otherwise at rest.

Run after the load (its clients gone): the servers' CPU for 3 s of rest (once they have
settled), then
N connections one after the other (a few in flight), each closed once it has its first
frame; the servers' CPU over the probe minus the resting rate, divided by N. Bytes: what
the client received (the 101 response and the first frame) and sent."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import uvloop

from bench.live_measure import cpu_delta, cpu_snapshot
from bench.ws_client import WsClient

SERVER_KEYS = ("daphne", "ticker", "redis", "postgres")


class _Probe(WsClient):
    def __init__(self, host: str, port: int, path: str, hello: str | None) -> None:
        super().__init__(host, port, path)
        self.hello = hello
        self.first: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def on_open(self) -> None:
        if self.hello:
            self.send_text(self.hello)

    def on_message(self, payload: bytes, nbytes: int) -> None:
        if not self.first.done():
            self.first.set_result(len(payload))

    def on_close(self) -> None:
        if not self.first.done():
            self.first.set_result(-1)


async def _probe(host: str, port: int, paths: list[tuple[str, str | None]], inflight: int):
    loop = asyncio.get_running_loop()
    sem = asyncio.Semaphore(inflight)
    got: list[tuple[int, int, int, float]] = []

    async def one(path: str, hello: str | None) -> None:
        async with sem:
            c = _Probe(host, port, path, hello)
            t = time.monotonic()
            try:
                async with asyncio.timeout(30):
                    await loop.create_connection(lambda: c, host, port)
                    n = await c.first
            except (OSError, TimeoutError):
                n = -1
            sent = len(c.request) + (len(c.hello) + 6 if c.hello else 0)
            got.append((n, c.bytes_in, sent, (time.monotonic() - t) * 1000))
            c.close()

    await asyncio.gather(*(one(p, h) for p, h in paths))
    return got


def _server_cpu(a: dict[str, float], b: dict[str, float]) -> float:
    """CPU seconds the servers used between two snapshots."""
    return sum(v for k, v in cpu_delta(a, b, 1.0).items() if k.startswith(SERVER_KEYS))


def probe_connections(
    host: str, port: int, race: dict[str, Any], named: dict[str, int], dbname: str, n: int
) -> dict[str, Any]:
    servers = {k: v for k, v in named.items() if k.startswith(SERVER_KEYS)}
    out: dict[str, Any] = {}
    tokens = [a["token"] for a in race["athletes"]][: max(1, n // 2)]
    kinds: dict[str, list[tuple[str, str | None]]] = {
        "spectator": [(f"/ws/live/{race['race_id']}/", None)] * n,
        "athlete": [
            ("/ws/track/", json.dumps({"type": "hello", "token": tok, "device": "probe"}))
            for tok in tokens
        ],
    }
    for kind, paths in kinds.items():
        # At rest: after a surge the servers are still working off its backlog (acks,
        # snapshots): wait (up to 30 s) for a 3-s stretch under 0.1 core.
        deadline = time.monotonic() + 30
        while True:
            a = cpu_snapshot(servers, dbname)
            time.sleep(3.0)
            b = cpu_snapshot(servers, dbname)
            rest = _server_cpu(a, b) / 3.0
            if rest < 0.1 or time.monotonic() > deadline:
                break
        t = time.monotonic()
        got = uvloop.run(_probe(host, port, paths, 4))
        took = time.monotonic() - t
        c = cpu_snapshot(servers, dbname)
        ok = [g for g in got if g[0] >= 0]
        # /proc counts CPU in 10 ms ticks: on a tiny probe the resting rate subtracted can
        # exceed what was counted, which is noise, not a negative cost.
        cpu = max(0.0, _server_cpu(b, c) - rest * took)
        ms = sorted(g[3] for g in ok)
        out[kind] = {
            "connections": len(paths),
            "ok": len(ok),
            "server_cpu_ms_per_connection": round(1000 * cpu / len(ok), 2) if ok else None,
            "resting_server_cores": round(rest, 3),
            "bytes_received": round(sum(g[1] for g in ok) / len(ok)) if ok else None,
            "first_frame_bytes": round(sum(g[0] for g in ok) / len(ok)) if ok else None,
            "bytes_sent": round(sum(g[2] for g in ok) / len(ok)) if ok else None,
            "ms_p50": ms[len(ms) // 2] if ms else None,
        }
    return out
