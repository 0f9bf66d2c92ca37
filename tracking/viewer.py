"""One spectator's view of a race: its focus, its field interval, its frames.

The hub calls ``on_tick``/``on_post``/``on_kudos`` without waiting; they only queue.
The viewer's own task turns the queue into frames and sends them, so a slow
socket delays nobody else. A viewer that falls behind (its queue overflows) or
sees a gap in ``seq`` drops what it queued and starts again from a fresh snapshot.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from pace.lib.jsonfast import dumps
from tracking.hub import RaceHub, Tick
from tracking.livestore import Snapshot, live_store

QUEUE_MAX = 30
RETRY_SECONDS = 1.0
BEHIND_BACKOFF_SECONDS = 3.0
logger = logging.getLogger(__name__)
MAX_FOLLOWS = 50


def snapshot_frame(
    snapshot: Snapshot | None, race: dict[str, Any], interval: int | None
) -> tuple[str, int, list[int]]:
    """The ``snapshot`` frame, its ``seq`` and the leaders it was taken with."""
    meta = snapshot.meta if snapshot else {"seq": 0, "t": None, "leaders": [], "race": {}}
    info = {**race, **meta["race"]}
    if interval:
        info["field_interval"] = interval
    states = ",".join(snapshot.states) if snapshot else ""
    field = ",".join(snapshot.field) if snapshot else ""
    posts = ",".join(snapshot.posts) if snapshot else ""
    t = dumps(meta["t"])
    frame = (
        f'{{"type":"snapshot","race":{dumps(info)},"seq":{meta["seq"]},"t":{t},'
        f'"athletes":[{states}],"field":[{field}],"posts":[{posts}]}}'
    )
    return frame, meta["seq"], list(meta["leaders"])


class Viewer:
    """A spectator's (or a media client's) subscription to one race."""

    def __init__(self, *, race: dict[str, Any], send: Callable[[str], Awaitable[None]]) -> None:
        self.race = race
        self.send = send
        self.follows: list[int] = []
        self.interval: int | None = None
        self.queue: deque[tuple[Any, ...]] = deque()
        self.wake = asyncio.Event()
        self.seq = 0
        self.leaders: list[int] = []
        self.resync = True
        self.resyncs = 0
        self.behind = False  # the resync is for falling behind, not for a follow
        self.calm_at = 0.0  # no resync for falling behind before this (monotonic)

    # --- from the hub (never waits) ----------------------------------------------
    def _put(self, item: tuple[Any, ...]) -> None:
        if len(self.queue) >= QUEUE_MAX:
            self.queue.clear()
            self.resync = self.behind = True
        self.queue.append(item)
        self.wake.set()

    def hub_tick(self, tick: Tick, hub: RaceHub) -> None:
        self._put(("tick", tick, hub))

    def hub_post(self, encoded: str) -> None:
        self._put(("post", encoded))

    def hub_kudos(self, athlete: int, count: int, sender: str) -> None:
        self._put(("kudos", athlete, count))

    def hub_revoked(self, athletes: list[int]) -> None:
        """Trackers' business."""

    # --- from the spectator -----------------------------------------------------------
    def follow(self, athletes: list[int]) -> None:
        self.follows = list(dict.fromkeys(athletes))
        self.resync = True
        self.wake.set()

    def set_interval(self, seconds: int) -> None:
        self.interval = seconds

    # --- the viewer's task ------------------------------------------------------------
    async def run(self) -> None:
        """Send what is queued; on any failure start again from a fresh snapshot."""
        while True:
            await self.wake.wait()
            self.wake.clear()
            try:
                await self._drain()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning(
                    "viewer of race %s failed; resyncing", self.race["id"], exc_info=True
                )
                self.queue.clear()
                self.resync = True
                await asyncio.sleep(RETRY_SECONDS)
            if self.resync:
                self.wake.set()

    async def _drain(self) -> None:
        if self.resync and self.behind:
            # An overloaded server must not spend itself on snapshots for viewers that
            # fall behind again at once: at most one such snapshot per BEHIND_BACKOFF.
            await asyncio.sleep(max(0.0, self.calm_at - time.monotonic()))
            self.queue.clear()
            self.calm_at = time.monotonic() + BEHIND_BACKOFF_SECONDS
        if self.resync:
            await self._snapshot()
        while self.queue and not self.resync:
            for frame in self._frames(self.queue.popleft()):
                await self.send(frame)

    async def _snapshot(self) -> None:
        self.resync = self.behind = False
        snapshot = await live_store().snapshot(self.race["id"], self.follows)
        frame, self.seq, self.leaders = snapshot_frame(snapshot, self.race, self.interval)
        self.resyncs += 1
        await self.send(frame)

    def _frames(self, item: tuple[Any, ...]) -> list[str]:
        kind = item[0]
        if kind == "tick":
            return self._tick_frames(item[1], item[2])
        if kind == "post":
            return [item[1]]
        athlete, count = item[1], item[2]
        if athlete in self.follows or athlete in self.leaders:
            return [f'{{"type":"kudos","athlete":{athlete},"count":{count}}}']
        return []

    def _tick_frames(self, tick: Tick, hub: RaceHub) -> list[str]:
        if tick.seq <= self.seq:
            return []  # already in the snapshot
        if tick.seq > self.seq + 1 and self.seq:
            self.resync = self.behind = True  # a tick was lost on the way: heal with a snapshot
            return []
        self.seq = tick.seq
        self.leaders = tick.leaders
        focus = list(dict.fromkeys([*tick.leaders, *self.follows]))
        states = ",".join(tick.states[a] for a in focus if a in tick.states)
        frames = [f'{{"type":"tick","seq":{tick.seq},"t":{tick.t},"athletes":[{states}]}}']
        interval = self.interval or tick.field_interval
        if tick.seq % interval == 0:
            frames.append(hub.field_frame(tick, interval))
        wanted = set(focus)
        for athlete, point, passed, rank in tick.results:
            if athlete in wanted:
                frames.append(
                    dumps(
                        {"type": "result", "athlete": athlete, "point": point, "time": passed}
                        | ({"rank": rank} if rank else {})
                    )
                )
        return frames
