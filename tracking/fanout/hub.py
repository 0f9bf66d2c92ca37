"""Per-process fan-out: one channel-layer subscription per live race, however many viewers.

The ticker sends one message per tick to the race's group; the group's members
are processes (one hub each), not spectators, so the channel layer carries a
race's tick once per process. The hub applies the tick to its copy of the race
(``tracking.fanout.mirror``) and hands it, decoded once, to its local listeners
(spectator viewers and athletes' trackers); each joins its own frames from the
pre-encoded pieces and posts them to the hub, which writes them onto the socket at
once or, when the socket cannot take them yet, queues them on its outbox, which one
task sends. Nothing waits per listener: a tick's fan-out to ten thousand sockets is
one loop.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import weakref
from typing import Any, Protocol

from channels.layers import get_channel_layer

from pace.daphne_patches.outlet import Outlet, text_frame
from pace.lib.clock import SYSTEM, Clock
from tracking.fanout.mirror import RaceMirror
from tracking.fanout.tick import Tick
from tracking.live.groups import race_athletes_group, race_group
from tracking.live.livestore import live_store

logger = logging.getLogger(__name__)

RELOAD_RETRY_SECONDS = 1.0
# A race's hub is kept this long after its last listener left: a phone reconnecting over
# a bad network, or the next spectator, finds it up instead of subscribing and reading
# the race's whole state again (about 10 ms of CPU at 5,000 athletes, each time).
IDLE_SECONDS = 30.0
SHARED_FRAME_CHARS = 4096  # texts this long are looked up to be framed once per outbox batch


class Listener(Protocol):
    def hub_synced(self, hub: RaceHub) -> None: ...
    def hub_tick(self, tick: Tick, hub: RaceHub) -> None: ...
    def hub_post(self, encoded: str, hub: RaceHub) -> None: ...
    def hub_kudos(self, athlete: int, count: int, sender: str, hub: RaceHub) -> None: ...
    def hub_result(self, athlete: int, encoded: str, hub: RaceHub) -> None: ...
    def hub_revoked(self, athletes: list[int]) -> None: ...


class RaceHub:
    """This process's subscription to one race's group."""

    def __init__(self, race_id: int, *, clock: Clock = SYSTEM) -> None:
        self.race_id = race_id
        self.clock = clock  # what waits between reads of the race goes by (tests move it)
        # Spectators, then athletes' phones: a tick goes to spectators first (a phone's
        # state is due every few seconds, and nobody watches it to the second).
        self.listeners: set[Listener] = set()
        self.phones: set[Listener] = set()
        self.field_seqs: dict[int, int] = {}  # athlete -> seq of its last field change
        self.channel = ""
        self.task: asyncio.Task[None] | None = None
        self.last_seq = 0
        self.dropped = 0
        # Frames to send, as two lists rather than a list of pairs: ten thousand pairs a
        # tick would outlive young garbage collections and be promoted for nothing.
        self.out_outlets: list[Outlet] = []
        self.out_texts: list[str] = []
        self.sending: asyncio.Task[None] | None = None
        self.mirror = RaceMirror()
        self.synced = False  # the mirror is loaded and no tick is missing since
        self.early: list[Tick] = []  # ticks received while (re)loading the mirror
        self.loading: asyncio.Task[None] | None = None
        self.loads = 0
        self.idle: asyncio.Task[None] | None = None  # stops it once idle (``leave``)

    def everyone(self) -> list[Listener]:
        """Every listener, spectators first (a copy: one may leave meanwhile)."""
        return [*self.listeners, *self.phones]

    async def start(self) -> None:
        """Subscribe, then read the race's state: no tick can fall between the two.

        Listeners hear ``hub_synced`` once the state is read (at once, in the embedded
        topology; one Redis round trip in production, retried while Redis is away)."""
        layer = get_channel_layer()
        self.channel = await layer.new_channel()
        await self._subscribe(layer)
        self.task = asyncio.ensure_future(self._receive(layer))
        self.loading = asyncio.ensure_future(self._load())

    async def _subscribe(self, layer: Any) -> None:
        """Join the race's groups (again after a failure: a restarted Redis forgot them)."""
        await layer.group_add(race_group(self.race_id), self.channel)
        # Race control's messages to athletes come on a group of their own: spectators'
        # processes with no tracker still hear them, and drop them in one comparison.
        await layer.group_add(race_athletes_group(self.race_id), self.channel)

    async def stop(self) -> None:
        for task in (self.task, self.loading):
            if task:
                task.cancel()
        layer = get_channel_layer()
        await layer.group_discard(race_group(self.race_id), self.channel)
        await layer.group_discard(race_athletes_group(self.race_id), self.channel)

    async def _load(self) -> None:
        """(Re)read the race's whole state; the ticks that came meanwhile are applied after."""
        while True:
            try:
                state = await live_store().full_state(self.race_id)
            except Exception:
                logger.warning("race %s: live state unreadable; retrying", self.race_id)
                await self.clock.sleep(RELOAD_RETRY_SECONDS)
                continue
            self.mirror.reset(state)
            self.field_seqs = {}  # every viewer gets a snapshot at the mirror's seq or later
            early, self.early = self.early, []
            if all(self.mirror.apply(tick) for tick in early):
                break
            # The store is behind the ticks we hold (a tick is sent before it is stored; or
            # Redis restarted and the ticker has not written the race whole yet): wait a
            # little, keeping what arrives meanwhile.
            self.early = [tick for tick in early if tick.seq > self.mirror.seq] + self.early
            await self.clock.sleep(RELOAD_RETRY_SECONDS)
        self.synced = True
        self.loads += 1
        for listener in self.everyone():
            listener.hub_synced(self)
        # Viewers' snapshots already hold these ticks (they skip them); phones get their state.
        for tick in early:
            for listener in self.everyone():
                listener.hub_tick(tick, self)

    async def _receive(self, layer: Any) -> None:
        while True:
            try:
                message = await layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                # Redis restarted, or answered a busy process late ("Timeout reading"):
                # this task ending would leave every viewer of the race without ticks.
                # Keep listening (a tick missed meanwhile is a gap: the race is re-read).
                logger.warning(
                    "race %s: channel layer receive failed; retrying", self.race_id, exc_info=True
                )
                await self.clock.sleep(RELOAD_RETRY_SECONDS)
                with contextlib.suppress(Exception):  # still failing: the next receive says
                    await self._subscribe(layer)
                continue
            try:
                self.dispatch(message)
            except Exception:
                logger.exception(
                    "race %s: could not dispatch %s", self.race_id, message.get("type")
                )

    def dispatch(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "race.tick":
            self._on_tick(self._tick(message))
        elif kind == "race.post":
            self.mirror.add_post(message["post"])
            for listener in self.everyone():
                listener.hub_post(message["post"], self)
        elif kind == "race.posts":
            self.mirror.set_posts(message["posts"])
        elif kind == "race.post_hidden":  # race control hid posts (tracking.fanout.posts)
            self._hide_posts(message["frames"])
        else:
            self._tell(kind, message)

    def _tell(self, kind: object, message: dict[str, Any]) -> None:
        """Messages the listeners hear and the mirror keeps nothing of."""
        if kind == "race.revoked":
            for listener in self.everyone():
                listener.hub_revoked(message["athletes"])
        elif kind == "race.kudos":
            for athlete, count, sender in message["kudos"]:
                for listener in self.everyone():
                    listener.hub_kudos(athlete, count, sender, self)
        elif kind == "race.result":  # a timed result (tracking.fanout.results)
            for listener in self.everyone():
                listener.hub_result(message["athlete"], message["frame"], self)
        elif kind == "athlete.message":  # race control to athletes (tracking.ingest.race_messages)
            for phone in list(self.phones):
                hear = getattr(phone, "hub_message", None)
                if hear is not None:
                    hear(message, self)

    def _hide_posts(self, frames: list[str]) -> None:
        """To spectators (``Viewer.hub_post_hidden``); phones show no posts."""
        for listener in list(self.listeners):
            hide = getattr(listener, "hub_post_hidden", None)
            if hide is not None:
                for frame in frames:
                    hide(frame, self)

    def _on_tick(self, tick: Tick) -> None:
        if not self.synced:
            self.early.append(tick)
            return
        if not self.mirror.apply(tick):
            logger.warning("race %s: ticks lost before %s; reloading", self.race_id, tick.seq)
            self.synced, self.early = False, [tick]
            self.loading = asyncio.ensure_future(self._load())
            return
        field_seqs, seq = self.field_seqs, tick.seq
        for athlete in tick.field_changes:
            field_seqs[athlete] = seq
        for listener in self.everyone():
            listener.hub_tick(tick, self)

    def post(self, outlet: Outlet, text: str, framed: bytes | None = None) -> None:
        """Send a frame: onto the socket now when it takes it and holds nothing of ours
        (a tick's fan-out is then one loop of writes), else after what is queued for it,
        from one task for every socket. ``framed``: ``text`` already framed, when many
        sockets get it (a big race's 200 KB ``field`` frame is framed once a tick)."""
        if not outlet.queued and outlet.writable():
            try:
                outlet.write(framed or text_frame(text))
            except Exception:  # a closed socket: its consumer is going away
                logger.debug("race %s: a frame was not sent", self.race_id, exc_info=True)
            return
        outlet.queued += 1
        self.out_outlets.append(outlet)
        self.out_texts.append(text)
        if self.sending is None or self.sending.done():
            self.sending = asyncio.ensure_future(self._send_outbox())

    async def _send_outbox(self) -> None:
        """Write the queued frames in order. A long text is framed once for all its sockets."""
        while self.out_outlets:
            outlets, texts = self.out_outlets, self.out_texts
            self.out_outlets, self.out_texts = [], []
            shared: dict[int, bytes] = {}  # id of a text (alive in texts) -> its frame
            for i, outlet in enumerate(outlets):
                text = texts[i]
                try:
                    if not outlet.writable():
                        await outlet.send_text(text)
                    elif len(text) < SHARED_FRAME_CHARS:
                        outlet.write(text_frame(text))
                    else:
                        frame = shared.get(id(text))
                        if frame is None:
                            frame = shared[id(text)] = text_frame(text)
                        outlet.write(frame)
                except Exception:  # a closed socket: its consumer is going away
                    logger.debug("race %s: a frame was not sent", self.race_id, exc_info=True)
                finally:
                    outlet.queued -= 1

    def _tick(self, message: dict[str, Any]) -> Tick:
        seq = message["seq"]
        if self.last_seq and seq > self.last_seq + 1:
            self.dropped += seq - self.last_seq - 1
        self.last_seq = seq
        return Tick(
            seq=seq,
            t=message["t"],
            states=dict(message["athletes"]),  # [[athlete, encoded], ...]: 5,000 a tick
            field_changes=dict(message["field"]),
            leaders=message["leaders"],
            results=message["results"],
            field_interval=message["field_interval"],
            athletes=message["count"],
        )

    def field_frame(self, tick: Tick, since: int) -> tuple[str, bytes]:
        """The ``field`` frame of every athlete that changed after ``since`` (a viewer's last
        field or snapshot), at this tick, and its wire bytes. Viewers fall due at the ticks
        their snapshots set, so a big race's 200 KB field goes to a slice of its spectators
        each tick, not to all; and a tick's viewers whose ``since`` differ but hold the
        same athletes share one frame, built once: while spectators keep joining, those
        due on one tick have snapshots from dozens of ticks, and in a race where everyone
        moves, every one of those frames is the whole field."""
        if tick.change_seqs is None:
            tick.change_seqs = sorted(set(self.field_seqs.values()))
        # The frame holds the athletes whose last change is at or after the first seq
        # present after ``since``: the same frame for every ``since`` before that seq.
        oldest = bisect.bisect_right(tick.change_seqs, since)
        oldest = tick.change_seqs[oldest] if oldest < len(tick.change_seqs) else tick.seq + 1
        cached = tick.field_cache.get(oldest)
        if cached is None:
            field = self.mirror.field
            body = ",".join([field[a] for a, seq in self.field_seqs.items() if seq >= oldest])
            text = f'{{"type":"field","seq":{tick.seq},"t":{tick.t},"field":[{body}]}}'
            cached = tick.field_cache[oldest] = (text, text_frame(text))
        return cached


_loops: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, tuple[dict[int, RaceHub], asyncio.Lock]
] = weakref.WeakKeyDictionary()


def _hubs() -> tuple[dict[int, RaceHub], asyncio.Lock]:
    """This event loop's hubs (a server has one loop; tests may run several)."""
    loop = asyncio.get_running_loop()
    if loop not in _loops:
        _loops[loop] = ({}, asyncio.Lock())
    return _loops[loop]


async def join(race_id: int, listener: Listener, *, phone: bool = False) -> RaceHub:
    """Listen to a race; the hub is subscribed before this returns (so snapshots come after).
    ``phone``: an athlete's tracker, served after the spectators."""
    hubs, lock = _hubs()
    async with lock:
        hub = hubs.get(race_id)
        if hub is None or hub.task is None or hub.task.done():
            hub = RaceHub(race_id)
            hubs[race_id] = hub
            await hub.start()
    (hub.phones if phone else hub.listeners).add(listener)
    return hub


async def leave(race_id: int, listener: Listener) -> None:
    hubs, lock = _hubs()
    async with lock:
        hub = hubs.get(race_id)
        if hub is None:
            return
        hub.listeners.discard(listener)
        hub.phones.discard(listener)
        if not hub.listeners and not hub.phones and hub.idle is None:
            hub.idle = asyncio.ensure_future(_stop_when_idle(race_id, hub))


async def _stop_when_idle(race_id: int, hub: RaceHub) -> None:
    """Stop ``hub`` if it has had no listener for IDLE_SECONDS (counted from the leave
    that found it empty: a listener coming and going meanwhile does not extend it)."""
    await hub.clock.sleep(IDLE_SECONDS)
    hubs, lock = _hubs()
    async with lock:
        hub.idle = None
        if hubs.get(race_id) is hub and not hub.listeners and not hub.phones:
            del hubs[race_id]
            await hub.stop()
