"""One spectator's view of a race: its focus, its field interval, its frames.

The hub calls a viewer for every tick, post and kudos of its race; the viewer joins
its frames from the pieces the hub decoded once and posts them to the hub, so a
tick's fan-out is one loop over the process's viewers and its frames leave in order
with every other frame of the viewer. A snapshot is built from the
hub's copy of the race (``tracking.fanout.mirror``) at the ``seq`` of the ticks that
follow it: a viewer never waits for a read and never falls between two ticks.

A slow socket delays nobody: sending only appends to the server's write buffer. A
spectator whose buffer holds more than ``TRACKING_VIEWER_BACKLOG_BYTES`` gets nothing
more until it has read it, then a fresh snapshot (the latest state, not the ticks it
missed); one that stops reading altogether stops answering the server's pings and is
disconnected after the ping timeout (daphne: ``--ping-interval``, ``--ping-timeout``).
"""

from __future__ import annotations

import random
from typing import Any

from pace.daphne_patches.outlet import Outlet, frame_header_size
from pace.daphne_patches.twisted_tcp import send_now
from tracking.fanout.hub import RaceHub
from tracking.fanout.tick import Tick

MAX_FOLLOWS = 50
# A lean viewer (``?field=later``) of a race whose field interval is longer than this (what
# a viewer may ask for at most) gets no field frames: it fetches ``field.json`` instead.
HTTP_FIELD_ABOVE_S = 60


def field_lag(interval: int) -> int:
    """Extra ticks before a viewer's first field frame after a snapshot: spectators who
    get snapshots on the same tick (thousands at the gun, all of a process's after it
    reads the race again) then do not all get the next field, 200 KB at 5,000 athletes,
    on the same tick either. The snapshot holds the whole field meanwhile."""
    return random.randrange(max(1, interval))


class Viewer:
    """A spectator's (or a media client's) subscription to one race."""

    # Ten thousand viewers a process, each read on every tick: slots keep a viewer's
    # fields in one small block of memory instead of a dict's.
    __slots__ = (
        "field_lag",
        "field_seq",
        "follows",
        "interval",
        "lagging",
        "leaders",
        "lean",
        "max_backlog",
        "outlet",
        "race",
        "seq",
        "skipped",
        "snapshots",
        "synced",
    )

    def __init__(
        self, *, race: dict[str, Any], outlet: Outlet, max_backlog: int, lean: bool = False
    ) -> None:
        self.race = race
        self.lean = lean  # ``?field=later``: snapshots carry the focus's field entries only
        self.outlet = outlet
        self.max_backlog = max_backlog
        self.lagging = False  # its socket was full: nothing more until a fresh snapshot
        self.skipped = 0  # ticks skipped while lagging
        self.follows: list[int] = []
        self.interval: int | None = None
        self.seq = 0
        self.field_seq = 0  # the seq of its last field (a field frame or a snapshot)
        self.field_lag = 0  # extra ticks before the first field frame after a snapshot
        self.leaders: list[int] = []
        self.synced = False  # a snapshot went out; ticks after it follow
        self.snapshots = 0

    # --- from the spectator -----------------------------------------------------------
    def resync(self, hub: RaceHub) -> None:
        """Send a fresh snapshot, now or as soon as the hub has read the race."""
        self.synced = False
        if not hub.synced:
            return  # hub_synced comes
        self.seq, self.leaders = hub.mirror.seq, list(hub.mirror.leaders)
        self.field_seq = self.seq
        self.field_lag = field_lag(self.interval or hub.mirror.race.get("field_interval") or 1)
        text, framed = hub.mirror.snapshot(self.race, self.follows, self.interval, lean=self.lean)
        hub.post(self.outlet, text, framed)
        self.synced = True
        self.snapshots += 1

    def follow(self, athletes: list[int], hub: RaceHub) -> None:
        """Follow these athletes; the snapshot now, or, when the socket holds more than
        it may, once it has read it (``hub_tick``): a client that asks and never reads
        grows no buffer of snapshots in the server."""
        self.follows = list(dict.fromkeys(athletes))
        if self.lagging or self.outlet.backlog() > self.max_backlog:
            self.lagging = True
            return
        self.resync(hub)

    def set_interval(self, seconds: int) -> None:
        self.interval = seconds
        # The spread of the first field after a snapshot was drawn for the race's interval
        # (a minute or more in a big race): a viewer asking for a shorter one gets it within
        # that, not after a lag longer than what it asked for.
        self.field_lag = min(self.field_lag, seconds - 1)

    # --- from the hub -------------------------------------------------------------------
    def hub_synced(self, hub: RaceHub) -> None:
        """The hub (re)read the race: whatever this viewer had may be behind."""
        self.resync(hub)

    def hub_tick(self, tick: Tick, hub: RaceHub) -> None:
        seq = tick.seq
        transport = self.outlet.idle_transport()
        if transport is not None and seq == self.seq + 1 and self.synced and not self.lagging:
            # The common case, ten thousand times a tick: the next tick, to a socket holding
            # nothing: the frame joined from the tick's shared bytes, onto the socket.
            self.seq, self.leaders = seq, tick.leaders
            send_now(transport, tick.frame(self.follows))
            if seq - self.field_seq < (self.interval or tick.field_interval) and not tick.results:
                return  # what _field_due would say without its call, and no results
        elif not self._tick_checked(tick, hub):
            return
        else:
            self.seq, self.leaders = seq, tick.leaders
            framed = tick.frame(self.follows)
            hub.post(self.outlet, framed[frame_header_size(framed) :].decode(), framed)
        if self._field_due(tick):
            hub.post(self.outlet, *hub.field_frame(tick, self.field_seq))
            self.field_seq, self.field_lag = tick.seq, 0
        if tick.results:
            of_leaders, of_others = tick.result_frames()
            for result in of_leaders:
                hub.post(self.outlet, result)
            for athlete in self.follows:
                for result in of_others.get(athlete, ()):
                    hub.post(self.outlet, result)

    def _tick_checked(self, tick: Tick, hub: RaceHub) -> bool:
        """Whether ``tick`` goes to this viewer as a tick frame: not when its socket is too
        full, nor when it is in (or after a gap beyond) the viewer's snapshot, which is
        sent instead."""
        backlog = self.outlet.backlog()
        if backlog > self.max_backlog or (self.lagging and backlog):
            self.lagging = True  # a slow socket: queue nothing more behind what it holds
            self.skipped += 1
            return False
        if self.lagging:
            self.lagging = False
            self.resync(hub)  # it has read it all: the latest state, not stale ticks
            return False
        if not self.synced or tick.seq <= self.seq:
            return False  # a snapshot is coming, or this tick is in the one sent
        if tick.seq > self.seq + 1:
            self.resync(hub)  # a tick went missing: heal with a snapshot (it has this one)
            return False
        return True

    def _field_due(self, tick: Tick) -> bool:
        interval = self.interval or tick.field_interval
        if self.lean and not self.interval and interval > HTTP_FIELD_ABOVE_S:
            # A big race's lean viewer (the live page) refreshes the whole field over HTTP,
            # compressed, within its budget (docs/live-tracking.md, "The page on a slow
            # phone"): the socket's uncompressed field frames on top would double it.
            return False
        return tick.seq - self.field_seq >= interval + self.field_lag

    def hub_post(self, encoded: str, hub: RaceHub) -> None:
        if self.synced and not self.lagging:  # a lagging viewer's snapshot brings it
            hub.post(self.outlet, encoded)

    def hub_post_hidden(self, encoded: str, hub: RaceHub) -> None:
        """A post race control hid: off the screen (a lagging viewer's snapshot lacks it)."""
        if self.synced and not self.lagging:
            hub.post(self.outlet, encoded)

    def hub_kudos(self, athlete: int, count: int, sender: str, hub: RaceHub) -> None:
        if self.lagging or not self.synced:
            return
        if athlete in self.follows or athlete in self.leaders:
            hub.post(self.outlet, f'{{"type":"kudos","athlete":{athlete},"count":{count}}}')

    def hub_result(self, athlete: int, encoded: str, hub: RaceHub) -> None:
        """A timed result (``tracking.fanout.results``): to the viewers the tick's own
        ``result`` frames go to, those following the athlete and everyone for a leader."""
        if self.lagging or not self.synced:
            return
        if athlete in self.follows or athlete in self.leaders:
            hub.post(self.outlet, encoded)

    def hub_revoked(self, athletes: list[int]) -> None:
        """Trackers' business."""
