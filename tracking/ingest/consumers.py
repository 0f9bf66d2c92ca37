"""``/ws/track/``: an athlete's phone sends fixes, posts and SOS, gets acks, kudos, its
state and race control's messages.

Thin: it parses frames and calls the ingest (``athletes``, ``fixes``, ``commit``,
``sos``, ``race_messages``), ``tracking.fanout.posts`` and the race's hub, whose ticks,
kudos and messages it hears like a spectator; no rule lives here.
"""

from __future__ import annotations

import asyncio
import functools
import time
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings

from pace.lib.clock import SYSTEM, Clock
from pace.lib.jsonfast import dumps, loads
from pace.lib.plaintext import plain_text_problem
from pace.lib.ratelimits import ahit
from tracking.fanout import hub, posts
from tracking.fanout.hub import RaceHub
from tracking.fanout.kudos import Bucket
from tracking.fanout.sockets import JsonFrames, is_int, query, token_value
from tracking.fanout.tick import Tick
from tracking.ingest import athletes, commit, fixes, race_messages, sos
from tracking.ingest.welcomes import welcomes

MAX_SEQ = 2**63 - 1  # Position.seq is a 64-bit column: one more fails the whole group commit
# A hello naming another device costs a query (its last_seq): a phone sends one per
# connection, so 5 at once and one more every 10 s is plenty.
HELLO_BURST, HELLO_REFILL_SECONDS = 5, 10.0
# An athlete pressing SOS again and again is each time told race control has it; a new
# call is stored for the first few, then one every 12 s.
SOS_BURST, SOS_REFILL_SECONDS = 5, 12.0
STATE_FIELDS = ("rank", "gap", "eta", "pace", "status")


class TrackerConsumer(JsonFrames):
    """``/ws/track/``: an athlete's phone sends fixes and posts, gets acks, kudos, state."""

    athlete: athletes.Athlete | None = None
    device = 0  # athletes.device_key of the hello's device
    last_seq: int | None = None
    standing: str | None = None  # the athlete's latest state (encoded), not sent yet
    standing_status: str | None = None  # the status last sent, quoted as in a field entry
    standing_due = 0.0  # monotonic time of the next state frame
    clock: Clock = SYSTEM  # what standing_due is on (tests move it)
    refusing = False  # a batch was not stored: this socket is closing, take nothing more
    tracker = True  # overloaded, a process keeps capacity for trackers (JsonFrames.refused)

    async def connect(self) -> None:
        self.tasks: set[asyncio.Task[None]] = set()
        self.hello_bucket = Bucket(HELLO_BURST, HELLO_REFILL_SECONDS)
        self.sos_bucket = Bucket(SOS_BURST, SOS_REFILL_SECONDS)
        self.points_bucket = Bucket(
            settings.TRACKING_POINTS_BURST, 1.0 / settings.TRACKING_POINTS_PER_SECOND
        )
        self.last_sos_t: float | None = None
        if await self.refused():
            return
        await self.accept()
        token = token_value(query(self.scope, "token"))
        if token:
            await self.authenticate(token, "")

    async def disconnect(self, code: int) -> None:
        if self.athlete is not None:
            await hub.leave(self.athlete.race_id, self)

    async def authenticate(self, token: str, device: str) -> None:
        # Looked up with the phones connecting meanwhile: at a start gun a thousand a
        # second would each wait for a hop of its own on the one database thread.
        key = athletes.device_key(device)
        athlete, last_seq = await welcomes().lookup(token, key)
        if athlete is None:
            await self.error("unauthorized", "unknown or revoked tracking token")
            await self.close(code=4401)
            return
        if time.time() > athlete.closes:
            await self.error("closed", "tracking for this race has closed")
            await self.close(code=4403)
            return
        self.athlete, self.token = athlete, token
        self.device, self.last_seq = key, last_seq
        await hub.join(athlete.race_id, self, phone=True)
        await self.send_frame(dumps(athlete.welcome(self.last_seq)))

    async def _learn_device(self, device: str) -> None:
        """The device this socket speaks for, and the last ``seq`` stored from it."""
        assert self.athlete is not None
        self.device = athletes.device_key(device)
        self.last_seq = await database_sync_to_async(athletes.last_seq)(
            athlete_id=self.athlete.id, device=self.device
        )

    async def on_hello(self, frame: dict[str, Any]) -> None:
        if not await self.took(self.hello_bucket, "hello"):
            return
        device = str(frame.get("device") or "")[:200]
        if self.athlete is not None:  # the token came in the URL: the hello names the device
            if device and athletes.device_key(device) != self.device:
                await self._learn_device(device)
            await self.send_frame(dumps(self.athlete.welcome(self.last_seq)))
        else:
            await self.authenticate(token_value(frame.get("token")), device)
        await self._send_missed(frame.get("messages_since"))

    async def _send_missed(self, since: Any) -> None:
        """Race control's messages after ``since`` (a message id), sent while away. Asked
        for by the ``hello`` only (a client that does not ask gets none again)."""
        if self.athlete is None or not is_int(since) or not 0 <= since <= MAX_SEQ:
            return
        frames = await database_sync_to_async(race_messages.missed)(
            race_id=self.athlete.race_id, registration_id=self.athlete.id, since=since
        )
        for text in frames:
            await self.send_frame(text)

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
        if not is_int(seq) or not 1 <= seq <= MAX_SEQ:
            await self.error("bad_seq", "seq must be a positive whole number below 2**63")
            return
        if not isinstance(points, list) or not 1 <= len(points) <= fixes.MAX_BATCH:
            detail = f"points must be a list of 1 to {fixes.MAX_BATCH} points"
            await self.error("bad_batch", detail, seq=seq)
            return
        if not self.points_bucket.take(count=len(points)):
            # Far more points than a phone has, even back from hours without signal: this
            # batch and the rest wait for a new socket (a close with a retry hint: the
            # phone resends every unacked batch after the next welcome).
            self.refusing = True
            wait = self.points_bucket.wait(len(points))
            await self.close(code=1013, reason=f"retry={wait} too many points")
            return
        valid, errors = fixes.parse_points(points, athlete=self.athlete, now=time.time())
        if errors:
            detail = f"{len(errors)} of {len(points)} points dropped: " + "; ".join(errors[:5])
            await self.error("invalid_point", detail, seq=seq, dropped=len(errors))
        if not valid:
            await self._stored(seq, None)  # nothing to keep: the phone may drop the batch
            return
        rows = fixes.as_rows(valid, athlete=self.athlete, seq=seq, device=self.device)
        commit.group_commit().enqueue(rows, functools.partial(self._stored, seq))

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
        if problem := plain_text_problem(text):
            await self.error("bad_post", f"text {problem}")
            return
        limited = await ahit(name="post.athlete", key=str(self.athlete.id))
        if limited is not None:
            await self.limited(limited)
            return
        await posts.post_create(athlete=self.athlete, text=text)

    async def on_sos(self, frame: dict[str, Any]) -> None:
        """An emergency: to race control at once (``sos.raise_sos``), answered with
        ``sos_received`` once it is stored and sent."""
        if not await self._require():
            return
        assert self.athlete is not None
        try:
            text, lat, lon = sos.clean_sos(frame)
            client_id = sos.sos_client_id(frame)
        except sos.SosError as exc:
            await self.error("bad_sos", str(exc))
            return
        if not self.sos_bucket.take() and self.last_sos_t is not None:
            # Pressed again within seconds: race control has the call already.
            await self.send_frame(dumps({"type": "sos_received", "t": self.last_sos_t}))
            return
        # The same athlete's calls over all their sockets (a phone and a watch, or a
        # script opening many): each call alarms race control and e-mails the contacts.
        # Past it race control has this athlete's calls (ten within minutes, or this one
        # resent after reconnects): the phone is told so, with the latest, as a socket
        # answers a repeated press; never an error on an SOS screen.
        limited = await ahit(name="sos.athlete", key=str(self.athlete.id))
        if limited is not None:
            last = await database_sync_to_async(sos.last_call_t)(registration_id=self.athlete.id)
            if last is None:
                await self.limited(limited)
            else:
                await self.send_frame(dumps({"type": "sos_received", "t": last}))
            return
        call = await database_sync_to_async(sos.raise_sos)(
            registration_id=self.athlete.id,
            race_id=self.athlete.race_id,
            text=text,
            lat=lat,
            lon=lon,
            client_id=client_id,
        )
        self.last_sos_t = round(call.t.timestamp(), 3)
        frame = {"type": "sos_received", "t": self.last_sos_t, "id": call.pk}
        await self.send_frame(dumps(frame))

    handlers = {"hello": on_hello, "pos": on_pos, "post": on_post, "sos": on_sos}

    # --- from the race's hub -------------------------------------------------------
    def hub_synced(self, race_hub: RaceHub) -> None:
        """Spectators' business."""

    def hub_tick(self, tick: Tick, race_hub: RaceHub) -> None:
        """The athlete's standing, every TRACKING_STATE_SECONDS and when its status changes.

        Every athlete changes every tick: the state is decoded only when it is sent, and a
        new status is seen in the field entry, whose fifth item is the status."""
        assert self.athlete is not None
        athlete = self.athlete.id
        encoded = tick.states.get(athlete)
        if encoded is not None:
            self.standing = encoded
        if self.standing is None:
            return
        entry = tick.field_changes.get(athlete)
        # The status is the entry's only string (PROTOCOL.md §3: the fifth item; the items
        # appended after it are numbers): the one last sent, quoted, is in the entry or the
        # status changed. Thousands of phones a tick: no split of every entry.
        sent = self.standing_status
        new_status = entry is not None and (sent is None or sent not in entry)
        now = self.clock.monotonic()
        if now < self.standing_due and not new_status:
            return
        state = loads(self.standing)
        frame = {"type": "state", "distance": state["distance"], "progress": state["progress"]}
        frame |= {key: state[key] for key in STATE_FIELDS if state.get(key) is not None}
        race_hub.post(self.outlet, dumps(frame))
        self.standing, self.standing_status = None, dumps(state["status"])
        self.standing_due = now + settings.TRACKING_STATE_SECONDS

    def hub_message(self, message: dict[str, Any], race_hub: RaceHub) -> None:
        """Race control's message (``race_messages``): to this athlete, or to all."""
        if self.athlete is None:
            return
        to = message.get("registration")
        if to is not None and to != self.athlete.id:
            return
        text = message.get("frame")
        if not isinstance(text, str):  # sent to the group by hand: PROTOCOL.md's fields
            fields = {key: message.get(key) for key in ("from", "text", "t")}
            text = dumps({"type": "message", **fields, "to": "all" if to is None else "you"})
        race_hub.post(self.outlet, text)

    def hub_post(self, encoded: str, race_hub: RaceHub) -> None:
        """Spectators' business: an athlete's phone does not show the race's posts."""

    def hub_kudos(self, athlete: int, count: int, sender: str, race_hub: RaceHub) -> None:
        if self.athlete is not None and athlete == self.athlete.id:
            frame = dumps({"type": "kudos", "from": sender, "count": count})
            race_hub.post(self.outlet, frame)

    def hub_result(self, athlete: int, encoded: str, race_hub: RaceHub) -> None:
        """Spectators' business: PROTOCOL.md gives the tracker no ``result`` frame."""

    def hub_revoked(self, athletes: list[int]) -> None:
        if self.athlete is not None and self.athlete.id in athletes:
            self._later_call(self._rechecktoken_value())

    async def _rechecktoken_value(self) -> None:
        """Our athlete's token changed: carry on only if ours is still the valid one."""
        if await database_sync_to_async(athletes.athlete_for_token)(self.token) is None:
            await self.error("unauthorized", "this tracking token was revoked")
            await self.close(code=4401)

    def _later_call(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
