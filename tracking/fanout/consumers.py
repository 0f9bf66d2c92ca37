"""``/ws/live/RACE_ID/``: a spectator's socket. Thin: it parses frames and calls the
race's hub, its viewer and ``kudos``; no rule lives here.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings

from pace.lib.clock import SYSTEM, Clock
from tracking import selectors
from tracking.fanout import hub
from tracking.fanout.hub import RaceHub
from tracking.fanout.kudos import Bucket, Cheer, kudos_batcher, kudos_limited, spectator_key
from tracking.fanout.sockets import JsonFrames, is_int, query, token_value
from tracking.fanout.spectators import spectator_id_from_cookies
from tracking.fanout.viewer import MAX_FOLLOWS, Viewer

# A socket let in by a family link is closed this long at most after the link is revoked.
FAMILY_RECHECK_SECONDS = 15.0
_rereads: set[asyncio.Future[None]] = set()  # remembered races being read again


class LiveConsumer(JsonFrames):
    """``/ws/live/RACE_ID/``: a spectator's snapshot, ticks, field, kudos, posts, results."""

    viewer: Viewer | None = None
    hub: RaceHub
    family_check: asyncio.Task[None] | None = None
    clock: Clock = SYSTEM  # what the family link's re-check waits by (tests move it)

    async def connect(self) -> None:
        if await self.refused():
            return
        race_id = self.scope["url_route"]["kwargs"]["race_id"]
        # A public race read in the last seconds: no hop to the database thread (a start
        # gun's thousands of spectators all watch it). Else it is read, and who may watch
        # it checked; ``?token=``: a family link's token opens a race that is not public.
        allowed = selectors.public_race_remembered(race_id=race_id)
        if allowed is not None and selectors.claim_reread(race_id=race_id):
            # Past its seconds: served as remembered, read again beside (one at a time).
            reread = asyncio.ensure_future(
                database_sync_to_async(selectors.reread_watchable)(race_id=race_id)
            )
            _rereads.add(reread)  # the loop keeps only a weak reference to a task
            reread.add_done_callback(_rereads.discard)
        family = token_value(query(self.scope, "token"))
        link = None
        if allowed is None:
            allowed = await database_sync_to_async(selectors.watchable_race)(
                race_id=race_id, user=self.scope.get("user"), family=family
            )
            if allowed is not None and family:
                _ok, link = await database_sync_to_async(selectors.family_watch)(
                    race_id=race_id, user=self.scope.get("user"), family=family
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
        self.bucket = Bucket(settings.TRACKING_KUDOS_BURST, settings.TRACKING_KUDOS_REFILL_SECONDS)
        # Each follow is answered with a snapshot, the whole field (200 KB at 5,000
        # athletes) for a 40-byte frame: 10 at once, then one a second.
        self.follow_bucket = Bucket(
            settings.TRACKING_FOLLOW_BURST, settings.TRACKING_FOLLOW_REFILL_SECONDS
        )
        # ``?field=later``: snapshots carry the focus's field entries, and the race's
        # ``field_url`` where the whole field is fetched (docs/live-tracking.md).
        lean = query(self.scope, "field") == "later"
        if lean:
            info = {**info, "field_url": allowed.field_url}
        await self.accept()
        self.viewer = Viewer(
            race=info,
            outlet=self.outlet,
            max_backlog=settings.TRACKING_VIEWER_BACKLOG_BYTES,
            lean=lean,
        )
        self.hub = await hub.join(self.race_id, self.viewer)
        self.viewer.resync(self.hub)  # the snapshot, from the hub's copy of the race
        if link is not None:
            self.family_check = asyncio.ensure_future(
                self._watch_family(family, link.expires_at.timestamp())
            )

    async def disconnect(self, code: int) -> None:
        if self.family_check is not None:
            self.family_check.cancel()
        if self.viewer is not None:
            await hub.leave(self.race_id, self.viewer)

    async def _watch_family(self, token: str, expires: float) -> None:
        """A socket let in by a family link alone lasts as long as the link: checked again
        every FAMILY_RECHECK_SECONDS (a revoke) and at its expiry, then closed with 4404,
        as a new socket with that token would be refused."""
        while True:
            wait = min(FAMILY_RECHECK_SECONDS, max(0.0, expires - self.clock.time()))
            await self.clock.sleep(wait)
            now = dt.datetime.fromtimestamp(self.clock.time(), dt.UTC)
            may, link = await database_sync_to_async(selectors.family_watch)(
                race_id=self.race_id, user=self.user, family=token, now=now
            )
            if not may:
                await self.close(code=4404)
                return
            if link is None:
                return  # the race is theirs to watch now (published): the link no longer counts
            expires = link.expires_at.timestamp()

    async def on_follow(self, frame: dict[str, Any]) -> None:
        assert self.viewer is not None
        ids = frame.get("athletes")
        if not isinstance(ids, list) or not all(is_int(i) for i in ids):
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
        if not is_int(interval) or not 1 <= interval <= 60:
            await self.error("bad_interval", "interval is a whole number of seconds, 1 to 60")
            return
        self.viewer.set_interval(interval)

    async def on_kudos(self, frame: dict[str, Any]) -> None:
        athlete = frame.get("athlete")
        if not is_int(athlete) or athlete not in self.athletes:
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
