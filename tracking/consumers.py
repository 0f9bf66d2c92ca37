"""The two WebSocket ends of PROTOCOL.md: athletes' trackers and spectators.

Thin: they parse frames and call ``tracking.ingest``, ``tracking.posts``,
``tracking.kudos`` and the per-process hub; no rule lives here.
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from typing import Any
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from pace.daphne_patches.outlet import Outlet
from pace.lib.jsonfast import dumps, loads
from pace.lib.opensockets import open_sockets
from pace.lib.ratelimits import Limited, ahit, scope_ip
from tracking import hub, ingest, posts, selectors
from tracking.hub import RaceHub, Tick
from tracking.kudos import Bucket, Cheer, kudos_batcher, kudos_limited, spectator_key
from tracking.spectators import spectator_id_from_cookies
from tracking.viewer import MAX_FOLLOWS, Viewer

MAX_SEQ = 2**63 - 1  # Position.seq is a 64-bit column: one more fails the whole group commit
# A hello naming another device costs a query (its last_seq): a phone sends one per
# connection, so 5 at once and one more every 10 s is plenty.
HELLO_BURST, HELLO_REFILL_SECONDS = 5, 10.0


def _query(scope: dict[str, Any], name: str) -> str:
    return parse_qs(scope.get("query_string", b"").decode("latin-1")).get(name, [""])[0]


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _token(value: Any) -> str:
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


class _JsonFrames(AsyncWebsocketConsumer):
    """JSON text frames in and out; a bad frame is answered, never fatal."""

    shut = False  # refused at connect: closing, every frame ignored
    counted_ip: str | None = None  # the IP this socket is counted under in open_sockets

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
        """Whether this new socket is over its IP's limits: sockets open at once in this
        process (``TRACKING_MAX_SOCKETS_PER_IP``, counted in memory, first) and new
        sockets a minute (``ws.connect.ip``). If so it is told why and closed as an
        overloaded server closes it (1013, ``retry=S``), so clients already back off."""
        ip = scope_ip(self.scope)
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


class TrackerConsumer(_JsonFrames):
    """``/ws/track/``: an athlete's phone sends fixes and posts, gets acks, kudos, state."""

    athlete: ingest.Athlete | None = None
    device = 0  # ingest.device_key of the hello's device
    last_seq: int | None = None
    standing: str | None = None  # the athlete's latest state (encoded), not sent yet
    standing_status: str | None = None  # the status last sent
    standing_due = 0.0  # monotonic time of the next state frame
    refusing = False  # a batch was not stored: this socket is closing, take nothing more

    async def connect(self) -> None:
        self.tasks: set[asyncio.Task[None]] = set()
        self.hello_bucket = Bucket(HELLO_BURST, HELLO_REFILL_SECONDS)
        if await self.refused():
            return
        await self.accept()
        token = _token(_query(self.scope, "token"))
        if token:
            await self.authenticate(token, "")

    async def disconnect(self, code: int) -> None:
        if self.athlete is not None:
            await hub.leave(self.athlete.race_id, self)

    async def authenticate(self, token: str, device: str) -> None:
        athlete = await database_sync_to_async(ingest.athlete_for_token)(token)
        if athlete is None:
            await self.error("unauthorized", "unknown or revoked tracking token")
            await self.close(code=4401)
            return
        if time.time() > athlete.closes:
            await self.error("closed", "tracking for this race has closed")
            await self.close(code=4403)
            return
        self.athlete, self.token = athlete, token
        await self._learn_device(device)
        await hub.join(athlete.race_id, self, phone=True)
        await self.send_frame(dumps(athlete.welcome(self.last_seq)))

    async def _learn_device(self, device: str) -> None:
        """The device this socket speaks for, and the last ``seq`` stored from it."""
        assert self.athlete is not None
        self.device = ingest.device_key(device)
        self.last_seq = await database_sync_to_async(ingest.last_seq)(
            athlete_id=self.athlete.id, device=self.device
        )

    async def on_hello(self, frame: dict[str, Any]) -> None:
        if not await self.took(self.hello_bucket, "hello"):
            return
        device = str(frame.get("device") or "")[:200]
        if self.athlete is not None:  # the token came in the URL: the hello names the device
            if device and ingest.device_key(device) != self.device:
                await self._learn_device(device)
            await self.send_frame(dumps(self.athlete.welcome(self.last_seq)))
            return
        await self.authenticate(_token(frame.get("token")), device)

    async def _require(self) -> bool:
        if self.athlete is None:
            await self.error("unauthorized", "send hello with your tracking token first")
            await self.close(code=4401)
            return False
        return True

    async def on_pos(self, frame: dict[str, Any]) -> None:
        if self.refusing or not await self._require():
            return
        assert self.athlete is not None
        seq, points = frame.get("seq"), frame.get("points")
        if not _int(seq) or not 1 <= seq <= MAX_SEQ:
            await self.error("bad_seq", "seq must be a positive whole number below 2**63")
            return
        if not isinstance(points, list) or not 1 <= len(points) <= ingest.MAX_BATCH:
            detail = f"points must be a list of 1 to {ingest.MAX_BATCH} points"
            await self.error("bad_batch", detail, seq=seq)
            return
        valid, errors = ingest.parse_points(points, athlete=self.athlete, now=time.time())
        if errors:
            detail = f"{len(errors)} of {len(points)} points dropped: " + "; ".join(errors[:5])
            await self.error("invalid_point", detail, seq=seq, dropped=len(errors))
        if not valid:
            await self._stored(seq, None)  # nothing to keep: the phone may drop the batch
            return
        rows = ingest.as_rows(valid, athlete=self.athlete, seq=seq, device=self.device)
        ingest.group_commit().enqueue(rows, functools.partial(self._stored, seq))

    async def _stored(self, seq: int, error: BaseException | None) -> None:
        """The group commit's answer for one batch: ack it, or say it was not stored."""
        if error is not None:
            # Close, and take nothing more from this socket (frames already received
            # included), so that no later batch is stored past this one: the phone
            # reconnects, learns last_seq and resends from there.
            self.refusing = True
            await self.error("not_stored", "could not store this batch; send it again", seq=seq)
            await self.close(code=1011)
            return
        self.last_seq = max(self.last_seq or 0, seq)
        await self.send_frame(dumps({"type": "ack", "seq": seq}))

    async def on_post(self, frame: dict[str, Any]) -> None:
        if not await self._require():
            return
        assert self.athlete is not None
        text = frame.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > posts.MAX_LENGTH:
            await self.error("bad_post", f"text must be 1 to {posts.MAX_LENGTH} characters")
            return
        if "\x00" in text:
            await self.error("bad_post", "text must not hold NUL characters")
            return
        limited = await ahit(name="post.athlete", key=str(self.athlete.id))
        if limited is not None:
            await self.limited(limited)
            return
        await posts.post_create(athlete=self.athlete, text=text)

    handlers = {"hello": on_hello, "pos": on_pos, "post": on_post}

    # --- from the race's hub -------------------------------------------------------
    def hub_synced(self, race_hub: RaceHub) -> None:
        """Spectators' business."""

    def hub_tick(self, tick: Tick, race_hub: RaceHub) -> None:
        """The athlete's standing, every TRACKING_STATE_SECONDS and when its status changes.

        Every athlete changes every tick: the state is decoded only when it is sent, and a
        new status is seen in the field entry, whose last item is the status."""
        assert self.athlete is not None
        athlete = self.athlete.id
        encoded = tick.states.get(athlete)
        if encoded is not None:
            self.standing = encoded
        if self.standing is None:
            return
        now = time.monotonic()
        entry = tick.field_changes.get(athlete)
        new_status = entry is not None and not entry.endswith(f'"{self.standing_status}"]')
        if now < self.standing_due and not new_status:
            return
        state = loads(self.standing)
        frame = {"type": "state", "distance": state["distance"], "progress": state["progress"]}
        frame |= {key: state[key] for key in ("rank", "eta", "status") if key in state}
        race_hub.post(self.outlet, dumps(frame))
        self.standing, self.standing_status = None, state["status"]
        self.standing_due = now + settings.TRACKING_STATE_SECONDS

    def hub_post(self, encoded: str, race_hub: RaceHub) -> None:
        """Spectators' business: an athlete's phone does not show the race's posts."""

    def hub_kudos(self, athlete: int, count: int, sender: str, race_hub: RaceHub) -> None:
        if self.athlete is not None and athlete == self.athlete.id:
            frame = dumps({"type": "kudos", "from": sender, "count": count})
            race_hub.post(self.outlet, frame)

    def hub_revoked(self, athletes: list[int]) -> None:
        if self.athlete is not None and self.athlete.id in athletes:
            self._later_call(self._recheck_token())

    async def _recheck_token(self) -> None:
        """Our athlete's token changed: carry on only if ours is still the valid one."""
        if await database_sync_to_async(ingest.athlete_for_token)(self.token) is None:
            await self.error("unauthorized", "this tracking token was revoked")
            await self.close(code=4401)

    def _later_call(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)


class LiveConsumer(_JsonFrames):
    """``/ws/live/RACE_ID/``: a spectator's snapshot, ticks, field, kudos, posts, results."""

    viewer: Viewer | None = None
    hub: RaceHub

    async def connect(self) -> None:
        if await self.refused():
            return
        race_id = self.scope["url_route"]["kwargs"]["race_id"]
        allowed = await database_sync_to_async(selectors.watchable_race)(
            race_id=race_id, user=self.scope.get("user")
        )
        if allowed is None:
            await self.close(code=4404)
            return
        self.race_id, info, self.athletes = allowed.race.pk, allowed.info, allowed.athletes
        self.user = self.scope.get("user")
        session = self.scope.get("session")
        self.spectator = spectator_key(
            user=self.user,
            session_key=getattr(session, "session_key", None),
            spectator_id=spectator_id_from_cookies(self.scope.get("cookies") or {}),
        )
        self.ip = scope_ip(self.scope)
        self.bucket = Bucket(settings.TRACKING_KUDOS_BURST, settings.TRACKING_KUDOS_REFILL_SECONDS)
        # Each follow is answered with a snapshot, the whole field (200 KB at 5,000
        # athletes) for a 40-byte frame: 10 at once, then one a second.
        self.follow_bucket = Bucket(
            settings.TRACKING_FOLLOW_BURST, settings.TRACKING_FOLLOW_REFILL_SECONDS
        )
        await self.accept()
        self.viewer = Viewer(
            race=info, outlet=self.outlet, max_backlog=settings.TRACKING_VIEWER_BACKLOG_BYTES
        )
        self.hub = await hub.join(self.race_id, self.viewer)
        self.viewer.resync(self.hub)  # the snapshot, from the hub's copy of the race

    async def disconnect(self, code: int) -> None:
        if self.viewer is not None:
            await hub.leave(self.race_id, self.viewer)

    async def on_follow(self, frame: dict[str, Any]) -> None:
        assert self.viewer is not None
        ids = frame.get("athletes")
        if not isinstance(ids, list) or not all(_int(i) for i in ids):
            await self.error("bad_follow", "athletes must be a list of athlete ids")
        elif len(set(ids)) > MAX_FOLLOWS:
            await self.error("too_many", f"follow at most {MAX_FOLLOWS} athletes")
        elif unknown := [i for i in ids if i not in self.athletes]:
            await self.error("unknown_athlete", f"not in this race: {unknown[:10]}")
        elif await self.took(self.follow_bucket, "follow"):
            self.viewer.follow(ids, self.hub)

    async def on_field(self, frame: dict[str, Any]) -> None:
        assert self.viewer is not None
        interval = frame.get("interval")
        if not _int(interval) or not 1 <= interval <= 60:
            await self.error("bad_interval", "interval is a whole number of seconds, 1 to 60")
            return
        self.viewer.set_interval(interval)

    async def on_kudos(self, frame: dict[str, Any]) -> None:
        athlete = frame.get("athlete")
        if not _int(athlete) or athlete not in self.athletes:
            await self.error("unknown_athlete", "athlete must be the id of an athlete of this race")
            return
        if not await self.took(self.bucket, "kudos"):
            return
        limited = await kudos_limited(spectator=self.spectator, ip=self.ip)
        if limited is not None:
            await self.limited(limited)
            return
        user = self.user if self.user is not None and self.user.is_authenticated else None
        # Only a first name travels to the athlete: never an e-mail address or a username.
        sender = (user.first_name if user else "") or "A spectator"
        kudos_batcher().add(Cheer(self.race_id, athlete, sender[:100], user.pk if user else None))

    handlers = {"follow": on_follow, "field": on_field, "kudos": on_kudos}
