"""A process's own copy of one live race's state, kept by the race's hub.

Every tick already brings each process the changed athletes' states and field
entries, so applying them to a copy read once (``live_store().full_state``) keeps
that copy equal to the live store at the same ``seq``. Spectators' snapshots are
then built in memory, at exactly the ``seq`` of the ticks that follow them: no
read per spectator (thousands join at a race's start, and all of them again after
a restart), and the snapshot's joined field is built once per tick, not once per
spectator.

A snapshot's bytes are shared too (:meth:`RaceMirror.snapshot`): the frame of a viewer
with the default focus and interval, most spectators, is encoded and framed once per
``seq`` for all of them; any other viewer's frame joins its own head (race, focus) to
the field and posts encoded once per ``seq``. A lean viewer (``?field=later``) gets
only its focus's field entries: the whole field is an HTTP fetch away (``field_url``).
"""

from __future__ import annotations

from typing import Any

from pace.daphne_patches.outlet import frame_header
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
        self._tail: tuple[int, str, bytes] | None = None  # seq, the shared tail, its bytes
        self._default: tuple[int, dict[str, Any], str, bytes] | None = None

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
        self._joined = self._tail = self._default = None

    def set_posts(self, encoded: list[str]) -> None:
        """An organizer hid or showed posts: new snapshots carry the visible ones."""
        self.posts = list(encoded[:RECENT_POSTS])
        self._joined = self._tail = self._default = None

    def snapshot(
        self, race: dict[str, Any], follows: list[int], interval: int | None, *, lean: bool = False
    ) -> tuple[str, bytes]:
        """The ``snapshot`` frame for a viewer, and its wire bytes (:func:`text_frame`'s).

        A viewer with the default focus and interval (most spectators: at a start gun,
        thousands on one ``seq``) gets the text and bytes built once for all of them; any
        other, the field and posts encoded once per ``seq`` after its own head. ``lean``
        (``?field=later``): the field holds only the focus's entries."""
        if not follows and not interval and not lean:
            cached = self._default
            if cached is not None and cached[0] == self.seq and cached[1] == race:
                return cached[2], cached[3]
            head = self._head(race, follows, interval)
            seq, tail, tail_bytes = self._shared_tail()
            text = head + tail
            framed = _framed(head.encode(), tail_bytes)
            self._default = (seq, race, text, framed)
            return text, framed
        if lean:
            text = self.snapshot_frame(race, follows, interval, lean=True)
            return text, _framed(text.encode(), b"")
        head = self._head(race, follows, interval)
        _, tail, tail_bytes = self._shared_tail()
        return head + tail, _framed(head.encode(), tail_bytes)

    def snapshot_frame(
        self, race: dict[str, Any], follows: list[int], interval: int | None, *, lean: bool = False
    ) -> str:
        """The ``snapshot`` frame's text for a viewer of ``race`` following ``follows``."""
        head = self._head(race, follows, interval)
        if lean:
            focus = dict.fromkeys([*self.leaders, *follows])
            field = ",".join(self.field[a] for a in focus if a in self.field)
            return f'{head}],"field":[{field}],"posts":[{self._shared()[1]}]}}'
        return head + self._shared_tail()[1]

    def _head(self, race: dict[str, Any], follows: list[int], interval: int | None) -> str:
        """A snapshot up to its field: the race, seq, t and the focus's full states."""
        info = {**race, **self.race}
        if interval:
            info["field_interval"] = interval
        focus = dict.fromkeys([*self.leaders, *follows])
        states = ",".join(self.states[a] for a in focus if a in self.states)
        return (
            f'{{"type":"snapshot","race":{dumps(info)},"seq":{self.seq},"t":{dumps(self.t)},'
            f'"athletes":[{states}'
        )

    def _shared_tail(self) -> tuple[int, str, bytes]:
        """What every full snapshot of this ``seq`` ends with (field and posts), and its
        UTF-8 bytes: encoded once, not once per viewer."""
        if self._tail is None or self._tail[0] != self.seq:
            field, posts = self._shared()
            tail = f'],"field":[{field}],"posts":[{posts}]}}'
            self._tail = (self.seq, tail, tail.encode())
        return self._tail

    def _shared(self) -> tuple[str, str]:
        """The field and posts as every snapshot of this ``seq`` carries them, joined once."""
        if self._joined is None or self._joined[0] != self.seq:
            self._joined = (self.seq, ",".join(self.field.values()), ",".join(self.posts))
        return self._joined[1], self._joined[2]


def _framed(head: bytes, tail: bytes) -> bytes:
    """``head + tail`` as one WebSocket text frame, the shared ``tail`` not encoded again."""
    return b"".join((frame_header(len(head) + len(tail)), head, tail))
