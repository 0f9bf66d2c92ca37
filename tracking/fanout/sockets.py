"""What the two WebSocket ends of PROTOCOL.md share: JSON frames in, frames out.

Athletes' trackers (``tracking.ingest.consumers``) and spectators
(``tracking.fanout.consumers``) read frames alike, answer a bad one alike, send
through the socket's outlet (which the race's hub writes to) and are held to the
same limits on opening a socket.
"""

from __future__ import annotations

import functools
import json
from typing import Any, TypeGuard
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from pace.daphne_patches.handshake import refuse_upgrade
from pace.daphne_patches.outlet import Outlet
from pace.lib.jsonfast import dumps, loads
from pace.lib.opensockets import admission, open_sockets
from pace.lib.ratelimits import Limited, ahit, scope_ip
from tracking.fanout.kudos import Bucket


def query(scope: dict[str, Any], name: str) -> str:
    """One query-string parameter of the socket's URL ("" when absent)."""
    raw: bytes = scope.get("query_string", b"")
    return parse_qs(raw.decode("latin-1")).get(name, [""])[0]


def is_int(value: Any) -> TypeGuard[int]:
    """A JSON integer (a bool is not one); the checker then knows it is an int."""
    return isinstance(value, int) and not isinstance(value, bool)


def token_value(value: Any) -> str:
    """A token as a client sent it, or "" when it cannot be one (PostgreSQL refuses NUL)."""
    return value if isinstance(value, str) and "\x00" not in value else ""


def decode_frame(text: str) -> Any:
    """A frame's JSON, or ValueError. Strict and fast first (orjson); then Python's parser
    for the NaN and Infinity that Python's and JavaScript's encoders write (a point
    holding one is dropped, the rest of its batch kept). What that one lets through and
    nothing could store or send on is refused: lone surrogates, integers past 64 bits,
    nesting deep enough to exhaust the stack."""
    try:
        return loads(text)
    except ValueError:
        pass
    try:
        frame = json.loads(text)
        dumps(frame)
    except (ValueError, TypeError, RecursionError):
        raise ValueError("not JSON") from None
    return frame


# channels ships no type information: its consumer is Any to mypy.
class JsonFrames(AsyncWebsocketConsumer):  # type: ignore[misc]
    """JSON text frames in and out; a bad frame is answered, never fatal."""

    shut = False  # refused at connect: closing, every frame ignored
    tracker = False  # an athlete's tracker: admitted past spectators' thresholds when overloaded
    counted_ip: str | None = None  # the IP this socket is counted under in open_sockets
    ip = ""  # the client's address (``scope_ip``), once admitted

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """The server's messages straight to ``dispatch``, one at a time.

        These consumers take no channel-layer messages (the race's hub does, once per
        process), so they have no channel of their own: Channels would give each socket
        one, a Redis receive kept waiting for its whole life (twelve thousand per process
        in a big race), and wait on it beside the socket with a new task and an
        ``asyncio.wait`` for every frame, a thousand fixes a second."""
        self.scope, self.base_send, self.channel_layer = scope, send, None
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass
        finally:
            # However the socket ends (closed, failed, cancelled), it is open no more.
            if self.counted_ip is not None:
                open_sockets().release(ip=self.counted_ip)
                self.counted_ip = None

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Channels closes stale database connections before every frame, a hop to the one
        shared sync thread per frame: at a thousand fixes a second that queue never drains.
        Our handlers reach the database only through ``database_sync_to_async``, which
        closes stale connections itself."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def websocket_connect(self, message: dict[str, Any]) -> None:
        """The consumer's ``connect``, counted among this process's sockets opening until it
        returns (its first frame, snapshot or welcome, is then out or queued)."""
        gate = admission()
        gate.opening += 1
        try:
            await super().websocket_connect(message)
        finally:
            gate.opening -= 1

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        """Channels' own then closes stale database connections, a hop to the one shared
        sync thread for every socket that closes (a restart's thousands at once); ours
        reach the database only through ``database_sync_to_async``, which does that."""
        await self.disconnect(message["code"])
        raise StopConsumer()

    async def error(self, code: str, detail: str, **extra: Any) -> None:
        """Answer a bad frame, unless the socket holds more than a viewer may unread: a
        client sending frames it is refused, and reading nothing, grows no buffer."""
        if self.outlet.backlog() > settings.TRACKING_VIEWER_BACKLOG_BYTES:
            return
        await self.send_frame(dumps({"type": "error", "code": code, "detail": detail, **extra}))

    @functools.cached_property
    def outlet(self) -> Outlet:
        """This socket's way out for frames, straight to the server's ``send``
        (``server_send`` is put in the scope by ``pace.asgi``); the hub sends through it."""
        return Outlet(self.scope.get("server_send", self.base_send))

    async def send_frame(self, text: str) -> None:
        """A frame, unless the client has gone (its close under way): autobahn would raise
        "Attempt to send on a closed protocol" into this consumer, which is going away."""
        protocol = self.outlet.protocol
        if protocol is not None and protocol.state in (
            protocol.STATE_CLOSING,
            protocol.STATE_CLOSED,
        ):
            return
        await self.outlet.put(text)

    async def limited(self, limited: Limited) -> None:
        """A ``rate_limited`` error: ``limit`` names the limit (a client tells a refused
        follow, which it sends again, from a refused kudos), ``retry_after`` when to."""
        await self.error(
            "rate_limited", limited.reason, limit=limited.name, retry_after=limited.retry_after
        )

    async def took(self, bucket: Bucket, what: str) -> bool:
        """Whether this socket's own ``bucket`` lets one more ``what`` frame through (no
        cache round trip); if not, the client is told when it may."""
        if bucket.take():
            return True
        detail = f"too many {what} frames on this connection: wait a few seconds"
        await self.error("rate_limited", detail, limit=what, retry_after=bucket.wait())
        return False

    async def refused(self) -> bool:
        """Whether this new socket is refused: this process is overloaded (``admission``:
        its loop's lag and the sockets opening, with higher thresholds for trackers), or
        the socket is over its IP's limits: sockets open at once in this process
        (``TRACKING_MAX_SOCKETS_PER_IP``, counted in memory) and new sockets a minute
        (``ws.connect.ip``). Over an IP's limit it is told why and closed as an overloaded
        server closes it (1013, ``retry=S``), so clients already back off."""
        retry = admission().retry_after(athlete=self.tracker)
        if retry is not None:
            await self.overloaded(retry)
            return True
        ip = self.ip = scope_ip(self.scope)
        limited = open_sockets().take(ip=ip, cap=settings.TRACKING_MAX_SOCKETS_PER_IP)
        if limited is None:
            self.counted_ip = ip  # counted before any await: concurrent opens see it
            limited = await ahit(name="ws.connect.ip", key=ip)
        if limited is None:
            return False
        self.shut = True
        await self.accept()
        await self.limited(limited)
        await self.outlet.close(1013, f"retry={limited.retry_after}")
        return True

    async def overloaded(self, retry: int) -> None:
        """Refuse this socket for ``retry`` seconds (PROTOCOL.md "Overload and reconnects"):
        before the upgrade with 503 and ``Retry-After`` for clients that can read it (no
        ``Origin``: phones' apps, media clients; it costs no 101 and no close handshake),
        else (browsers, which see no HTTP status; other servers) accepted and closed
        with 1013 ``retry=S``, which the live and tracker pages honour."""
        self.shut = True
        browser = any(name == b"origin" for name, _ in self.scope.get("headers", ()))
        if not browser and refuse_upgrade(self.scope.get("server_send", self.base_send), retry):
            return
        await self.accept()
        await self.outlet.close(1013, f"retry={retry}")

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.shut:
            return
        if text_data is None:
            await self.error("bad_frame", "frames are JSON text")
            return
        try:
            frame = decode_frame(text_data)
        except ValueError:
            await self.error("bad_json", "not JSON")
            return
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            await self.error("bad_frame", "a frame is an object with a type")
            return
        handler = self.handlers.get(frame["type"])
        if handler is None:
            await self.error("unknown_type", f"unknown frame type {frame['type'][:40]!r}")
            return
        await handler(self, frame)

    handlers: dict[str, Any] = {}
