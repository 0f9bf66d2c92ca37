"""What production's proxy does for the phone under test (docker-compose.yml's Caddyfile):
WebSockets and OsmAnd go to the live processes, every other request to the web processes.

Only the benchmark's Chromium goes through it (its simulated phones connect to the live
processes directly, as they would through the proxy). Each connection is routed by its
first request line and then relayed both ways as bytes: Chromium opens a WebSocket on a
connection of its own (never on a kept-alive page connection), and a page connection never
asks for a live path, so one route per connection is what the proxy's per-request routing
gives this client. It runs on its own event loop in a thread of the bench.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from typing import Any

LIVE_PREFIXES = (b"/ws/", b"/osmand/", b"/osmand?", b"/osmand ")


def routes_to_live(request_line: bytes) -> bool:
    """Whether production's proxy sends this request to the live processes."""
    parts = request_line.split(b" ")
    return len(parts) >= 2 and (parts[1] + b" ").startswith(LIVE_PREFIXES)


class PathProxy:
    """A listening socket on ``host`` whose connections are relayed to ``web_port`` or
    ``live_port`` by the path of their first request."""

    def __init__(self, host: str, web_port: int, live_port: int) -> None:
        self.host, self.web_port, self.live_port = host, web_port, live_port
        self.port = 0
        self.routed = {"web": 0, "live": 0}
        # Each live connection's steps, in ms from its accept: its request line read, the
        # live process connected, the live process's first bytes (the 101 or a refusal):
        # where a WebSocket's slow opening was spent, the proxy's side or the server's.
        self.live_timings: list[dict[str, float | None]] = []
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pathproxy", daemon=True)

    def start(self) -> int:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the proxy did not start")
        return self.port

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._serve, self.host, 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()
            self._loop.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted = time.monotonic()
        try:
            line = await reader.readline()
            read_at = time.monotonic()
            live = routes_to_live(line)
            self.routed["live" if live else "web"] += 1
            up_reader, up_writer = await asyncio.open_connection(
                self.host, self.live_port if live else self.web_port
            )
        except OSError:
            writer.close()
            return
        up_writer.write(line)
        timing = None
        if live:
            timing = {
                "request_ms": ms(accepted, read_at),
                "connected_ms": ms(accepted),
                "reply_ms": None,
            }
            self.live_timings.append(timing)
        await asyncio.gather(
            _pipe(reader, up_writer),
            _pipe(up_reader, writer, first=lambda: timing and timing.update(reply_ms=ms(accepted))),
        )


def ms(since: float, until: float | None = None) -> float:
    return round(((until or time.monotonic()) - since) * 1000, 1)


async def _pipe(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, first: Any = None
) -> None:
    try:
        while data := await reader.read(65536):
            if first is not None:
                first()
                first = None
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            writer.close()
