"""A process's own copy of one live race's state, kept by the race's hub.

Every tick already brings each process the changed athletes' states and field
entries, so applying them to a copy read once (``live_store().full_state``) keeps
that copy equal to the live store at the same ``seq``. Spectators' snapshots are
then built in memory, at exactly the ``seq`` of the ticks that follow them: no
read per spectator (thousands join at a race's start, and all of them again after
a restart), and the snapshot's joined field is built once per tick, not once per
spectator.
"""

from __future__ import annotations

from typing import Any

from pace.lib.jsonfast import dumps
from tracking.fanout.tick import Tick
from tracking.live.livestore import RECENT_POSTS, RaceState


class RaceMirror:
    """meta, states, field and posts of one race, as of ``seq``."""

    def __init__(self) -> None:
        self.reset(RaceState(meta=None, states={}, field={}, posts=[]))

    def reset(self, state: RaceState) -> None:
        meta = state.meta or {"seq": 0, "t": None, "leaders": [], "race": {}}
        self.seq: int = meta["seq"]
        self.t: float | None = meta["t"]
        self.leaders: list[int] = list(meta["leaders"])
        self.race: dict[str, Any] = dict(meta["race"])
        self.states = state.states
        self.field = state.field
        self.posts = state.posts
        self._joined: tuple[int, str, str] | None = None

    def apply(self, tick: Tick) -> bool:
        """Apply the next tick; False when ticks are missing between ours and it."""
        if tick.seq <= self.seq:
            return True  # already in what we read
        if tick.seq != self.seq + 1:
            return False
        self.seq, self.t, self.leaders = tick.seq, tick.t, tick.leaders
        self.states.update(tick.states)
        self.field.update(tick.field_changes)
        self.race["athletes"] = tick.athletes
        self.race["field_interval"] = tick.field_interval
        return True

    def add_post(self, encoded: str) -> None:
        self.posts.insert(0, encoded)
        del self.posts[RECENT_POSTS:]
        self._joined = None

    def set_posts(self, encoded: list[str]) -> None:
        """An organizer hid or showed posts: new snapshots carry the visible ones."""
        self.posts = list(encoded[:RECENT_POSTS])
        self._joined = None

    def snapshot_frame(self, race: dict[str, Any], follows: list[int], interval: int | None) -> str:
        """The ``snapshot`` frame for a viewer of ``race`` following ``follows``."""
        info = {**race, **self.race}
        if interval:
            info["field_interval"] = interval
        focus = dict.fromkeys([*self.leaders, *follows])
        states = ",".join(self.states[a] for a in focus if a in self.states)
        field, posts = self._shared()
        return (
            f'{{"type":"snapshot","race":{dumps(info)},"seq":{self.seq},"t":{dumps(self.t)},'
            f'"athletes":[{states}],"field":[{field}],"posts":[{posts}]}}'
        )

    def _shared(self) -> tuple[str, str]:
        """The field and posts as every snapshot of this ``seq`` carries them, joined once."""
        if self._joined is None or self._joined[0] != self.seq:
            self._joined = (self.seq, ",".join(self.field.values()), ",".join(self.posts))
        return self._joined[1], self._joined[2]
