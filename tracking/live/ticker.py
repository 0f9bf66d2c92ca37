"""The race ticker: every tick, move a live race's athletes and tell its spectators once.

Each live race's ticker runs in exactly one place: whoever holds the race's lease
(renewed every tick; a dead process's lease lapses after ``TRACKING_LEASE_SECONDS``
and another runner takes the race over, carrying on from the state it left in the
live store). ``manage.py run_tickers`` runs a runner; the embedded topology runs
one inside the web process.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import socket
import uuid
from typing import Any

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache

from pace.lib.clock import SYSTEM, Clock
from tracking.live.alerts import (
    MAILED,
    AlertBook,
    Thresholds,
    alerts_cache_key,
    refresh_cache_key,
)
from tracking.live.engine import Crossing, RaceEngine, TickOutput
from tracking.live.groups import control_group, race_group
from tracking.live.livestore import TickerMemory, live_store
from tracking.models import SplitCrossing
from tracking.selectors import (
    live_race_ids,
    race_for_ticker,
    race_info,
    race_thresholds,
    roster,
    withdrawn_ids,
)
from tracking.signals import alert_raised, crossings_stored

logger = logging.getLogger(__name__)
ROSTER_REFRESH_SECONDS = 10.0
TAKE_FIXES_SECONDS = 0.1  # between ticks, fixes are read and applied this often
ALERT_DETAIL_SECONDS = 5.0  # alerts' details (minutes lost, metres off) refreshed this often
ALERTS_CACHE_SECONDS = 6 * 3600
REFRESH_ASKED_SECONDS = 2.0  # how often the ticker asks whether race control changed the race


def restore(engine: RaceEngine, memory: TickerMemory, *, skip: bool) -> None:
    """Carry on from another ticker's last tick: positions, distances, splits, finishes.

    ``skip``: the ticker before may have sent a tick after its last stored one (it died,
    or failed to store it), so this one's first tick skips that ``seq``: no hub may take
    a second, different tick for the same ``seq``. A hub holding the unstored tick
    applies the new one (a restored engine's first tick brings every athlete); the
    others see the gap and read the race again."""
    engine.seq = memory.seq + (1 if skip else 0)
    engine.first_at = dict(memory.first_at)
    for raw in memory.states:
        state = json.loads(raw)
        athlete = engine.athletes.get(state["id"])
        if athlete is None:
            continue
        athlete.lat, athlete.lon, athlete.t = state["lat"], state["lon"], state["t"]
        athlete.distance, athlete.speed = state["distance"], state["speed"]
        athlete.hr, athlete.gap = state.get("hr"), state.get("gap")
        athlete.off_course = state.get("off_course") or 0.0
        athlete.moved_at = athlete.t
        if "finish_time" in state:
            athlete.finish_time = engine.start + state["finish_time"]
            engine.finishers += 1
        athlete.next_split = sum(1 for s in engine.splits if s.distance <= athlete.distance)
        for i in range(athlete.next_split):
            engine.split_counts[i] += 1


def store_crossings(*, race_id: int, crossings: list[Crossing]) -> None:
    rows = [
        SplitCrossing(
            race_id=race_id,
            registration_id=c.athlete,
            point=c.point,
            distance_m=c.distance,
            time=dt.datetime.fromtimestamp(c.time, tz=dt.UTC),
            rank=c.rank,
        )
        for c in crossings
    ]
    SplitCrossing.objects.bulk_create(rows, ignore_conflicts=True)
    stored = [(row.registration_id, row.point, row.time) for row in rows]
    for receiver, error in crossings_stored.send_robust(
        sender=SplitCrossing, race_id=race_id, crossings=stored
    ):
        if isinstance(error, Exception):
            logger.error("race %s: %r failed on crossings", race_id, receiver, exc_info=error)


def tick_message(out: TickOutput) -> dict[str, Any]:
    """The one message a tick sends to the race's group (every process's hub)."""
    return {
        "type": "race.tick",
        "seq": out.seq,
        "t": out.t,
        "athletes": [[a, e] for a, e in out.changed],
        "field": [[a, e] for a, e in out.field],
        "leaders": out.leaders,
        "results": [[c.athlete, c.point, round(c.time, 1), c.rank] for c in out.crossings],
        "field_interval": out.field_interval,
        "count": out.athletes,
    }


class RaceTicker:
    """One race's engine, fed from the race's buffer, publishing to its group."""

    def __init__(self, race_id: int, *, after_unstored: bool = True, clock: Clock = SYSTEM) -> None:
        self.race_id = race_id
        self.clock = clock
        # Whether a tick after the stored state may have been sent: unknown (so assumed)
        # when taking a race over; known when this runner reloads its own ticker.
        self.after_unstored = after_unstored
        self.unstored = False  # this ticker sent a tick it has not stored yet
        self.engine: RaceEngine | None = None
        self.info: dict[str, Any] = {}
        self.cursor = "0"
        self.roster_at = 0.0
        self.alerts = AlertBook()  # race control's open incidents (tracking.live.alerts)
        self.thresholds = Thresholds()
        self.alerts_sent_at: float | None = None
        self.asked_at = 0.0  # when the cache was last asked whether race control changed the race

    async def load(self) -> None:
        race, line, splits = await database_sync_to_async(race_for_ticker)(race_id=self.race_id)
        athletes = await database_sync_to_async(roster)(race_id=self.race_id)
        self.info = await database_sync_to_async(race_info)(race)
        self.engine = RaceEngine(
            race_id=self.race_id,
            start=race.start_time.timestamp(),
            course=line,
            splits=splits,
            athletes={a.id: a for a in athletes},
            time_limit=race.time_limit.total_seconds() if race.time_limit else None,
            lost_after=settings.TRACKING_LOST_SIGNAL_SECONDS,
            stopped_after=settings.TRACKING_STOPPED_SECONDS,
            field_budget=settings.TRACKING_FIELD_BYTES_PER_SECOND,
        )
        memory = await live_store().ticker_memory(self.race_id)
        if memory is not None:
            self.cursor = memory.cursor
            restore(self.engine, memory, skip=self.after_unstored)
        self.thresholds, _ = await database_sync_to_async(race_thresholds)(race_id=self.race_id)
        self.engine.off_course_after = self.thresholds.off_course_m  # spectators' flag too
        self.roster_at = self.clock.monotonic()

    async def _refresh_roster(self) -> None:
        assert self.engine is not None
        known = set(self.engine.athletes)
        for athlete in await database_sync_to_async(roster)(race_id=self.race_id, known=known):
            self.engine.athletes[athlete.id] = athlete
        # Race control's DNFs and safety settings, changed at any time (tracking.control).
        withdrawn = await database_sync_to_async(withdrawn_ids)(race_id=self.race_id)
        for athlete in self.engine.athletes.values():
            athlete.withdrawn = athlete.id in withdrawn
        self.thresholds, _ = await database_sync_to_async(race_thresholds)(race_id=self.race_id)
        self.engine.off_course_after = self.thresholds.off_course_m  # spectators' flag too
        self.roster_at = self.clock.monotonic()

    async def take_fixes(self) -> None:
        """Read the race's new fixes and move its athletes by them (between ticks, too)."""
        assert self.engine is not None
        self.cursor, fixes = await live_store().read_fixes(self.race_id, self.cursor)
        self.engine.add_fixes(fixes)
        self.engine.apply_pending()

    async def step(self, now: float) -> TickOutput:
        """One tick: the last fixes in, one group message out, then the state to the store.

        Spectators first: the hubs keep their own copy of the race, and one that reads the
        store meanwhile applies the tick it holds on top (``RaceHub._load``)."""
        if self.engine is None:
            await self.load()
        assert self.engine is not None
        monotonic = self.clock.monotonic()
        due = monotonic - self.roster_at > ROSTER_REFRESH_SECONDS
        if not due and monotonic - self.asked_at >= REFRESH_ASKED_SECONDS:
            # Race control changed the race (a DNF, its settings): read it now, not in up
            # to 10 s. A cache read every few seconds, no database query.
            self.asked_at = monotonic
            if await cache.aget(refresh_cache_key(self.race_id)):
                await cache.adelete(refresh_cache_key(self.race_id))
                due = True
        if due:
            await self._refresh_roster()
        await self.take_fixes()
        out = self.engine.tick(now)
        self.unstored = True
        await get_channel_layer().group_send(race_group(self.race_id), tick_message(out))
        await self.control(now)
        if out.crossings:
            await database_sync_to_async(store_crossings)(
                race_id=self.race_id, crossings=out.crossings
            )
        info = {**self.info, "athletes": out.athletes, "field_interval": out.field_interval}
        meta = {"seq": out.seq, "t": out.t, "leaders": out.leaders, "race": info}
        memory = TickerMemory(self.cursor, self.engine.first_at, [], out.seq)
        had_state = await live_store().write_tick(
            self.race_id, meta=meta, changed=out.changed, field=out.field, ticker=memory
        )
        self.unstored = False
        if not had_state and out.seq > 1:
            # Redis restarted and lost the race's state: write every athlete next tick.
            logger.warning("race %s: live state was lost; writing it whole again", self.race_id)
            self.engine.forget_encodings()
        return out

    async def control(self, now: float) -> None:
        """Race control's alerts after a tick: the whole list to its screens when an
        incident opened or closed (details every few seconds), new e-mailed ones to
        ``alert_raised``. All from the engine in memory: no database read."""
        engine = self.engine
        assert engine is not None
        changes = self.alerts.update(
            engine.athletes.values(), now=now, start=engine.start, thresholds=self.thresholds
        )
        last = self.alerts_sent_at
        stale = self.alerts.detail_changed and (last is None or now - last >= ALERT_DETAIL_SECONDS)
        if not (changes.any or stale or last is None):
            return
        listing = self.alerts.listing(engine.athletes)
        await cache.aset(alerts_cache_key(self.race_id), listing, ALERTS_CACHE_SECONDS)
        message = {"type": "control.alerts", "t": round(now, 3), "alerts": listing}
        await get_channel_layer().group_send(control_group(self.race_id), message)
        self.alerts_sent_at = now
        opened = {(a.athlete, a.kind) for a in changes.opened if a.kind in MAILED}
        if opened:
            raised = [a for a in listing if (a["athlete"], a["kind"]) in opened]
            await database_sync_to_async(send_alert_raised)(race_id=self.race_id, alerts=raised)


def send_alert_raised(*, race_id: int, alerts: list[dict[str, Any]]) -> None:
    for receiver, error in alert_raised.send_robust(
        sender=RaceTicker, race_id=race_id, alerts=alerts
    ):
        if isinstance(error, Exception):
            logger.error("race %s: %r failed on alerts", race_id, receiver, exc_info=error)


class TickerRunner:
    """Runs the tickers of the live races whose lease it holds."""

    def __init__(
        self, *, tick: float | None = None, owner: str | None = None, clock: Clock = SYSTEM
    ) -> None:
        self.tick = tick or settings.TRACKING_TICK_SECONDS
        self.clock = clock  # ticks and the reads between them go by it (tests move it)
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.tickers: dict[int, RaceTicker] = {}
        self.reloading: dict[int, bool] = {}  # races whose ticker failed: had it sent unstored?
        self.races: list[int] = []
        self.races_at = 0.0

    async def _live_races(self) -> list[int]:
        if self.clock.monotonic() - self.races_at > ROSTER_REFRESH_SECONDS or not self.races_at:
            self.races = await database_sync_to_async(live_race_ids)()
            self.races_at = self.clock.monotonic()
        return self.races

    async def run_once(self, now: float | None = None) -> list[int]:
        """Tick every race this runner holds (taking free leases); returns their ids."""
        store = live_store()
        ran = []
        races = await self._live_races()
        for race_id in races:
            if not await store.take_lease(race_id, self.owner, settings.TRACKING_LEASE_SECONDS):
                self.tickers.pop(race_id, None)  # someone else has it: forget our state
                self.reloading.pop(race_id, None)
                continue
            ticker = self.tickers.get(race_id)
            if ticker is None:
                ticker = self.tickers[race_id] = RaceTicker(
                    race_id, after_unstored=self.reloading.pop(race_id, True), clock=self.clock
                )
            try:
                await ticker.step(self.clock.time() if now is None else now)
                ran.append(race_id)
            except Exception:
                logger.exception("ticker of race %s failed; it reloads next tick", race_id)
                self.tickers.pop(race_id, None)
                self.reloading[race_id] = ticker.unstored
        for race_id in set(self.tickers) - set(races):
            del self.tickers[race_id]
            await store.drop_lease(race_id, self.owner)
        return ran

    async def take_fixes(self) -> None:
        """Between ticks: every race this runner holds takes the fixes that came so far."""
        for race_id, ticker in list(self.tickers.items()):
            if ticker.engine is None:
                continue
            try:
                await ticker.take_fixes()
            except Exception:  # a failed read leaves the cursor: the tick reads them again
                logger.warning("race %s: fixes not read between ticks", race_id, exc_info=True)

    async def run(self) -> None:
        """Tick forever, on the tick's boundaries, taking fixes in between."""
        clock = self.clock
        while True:
            next_tick = clock.monotonic() + self.tick
            await self.run_once()
            while (left := next_tick - clock.monotonic()) > 0:
                await clock.sleep(min(left, TAKE_FIXES_SECONDS))
                if next_tick - clock.monotonic() > TAKE_FIXES_SECONDS / 2:
                    await self.take_fixes()


class EmbeddedTickers:
    """ASGI wrapper for the embedded topology: starts a runner in the server's event loop.

    Daphne has no lifespan events, so the runner starts with the first connection.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.task: asyncio.Task[None] | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if settings.EMBEDDED_TICKERS and (self.task is None or self.task.done()):
            self.task = asyncio.ensure_future(TickerRunner().run())
        await self.app(scope, receive, send)
