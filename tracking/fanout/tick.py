"""A race's tick as this process's listeners read it: decoded once, shared by all.

The hub builds one from each ``race.tick`` message; its mirror applies it, every
viewer and phone reads it, and what every viewer would encode alike is encoded here
once. A spectator's ``tick`` frame is the tick's head (type, seq, t and the leaders'
changed states) plus the changed states of the athletes it follows: the head and
each state are UTF-8 once a tick, and a viewer's frame is one join of bytes
(:meth:`Tick.frame`), with no text built or encoded per viewer. A viewer none of whose
followed athletes changed gets the tick's one shared frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pace.daphne_patches.outlet import frame_header
from pace.lib.jsonfast import dumps

_TAIL = b"]}"


@dataclass(slots=True)
class Tick:
    """A race's tick as every listener of this process reads it."""

    seq: int
    t: float
    states: dict[int, str]
    field_changes: dict[int, str]  # ints to strings: a dict the GC does not track
    leaders: list[int]
    results: list[list[Any]]
    field_interval: int
    athletes: int
    field_cache: dict[int, tuple[str, bytes]] = field(default_factory=dict)  # oldest -> frame
    change_seqs: list[int] | None = None  # the distinct seqs of the athletes' last changes
    _leaders: tuple[frozenset[int], str] | None = None
    _results: tuple[list[str], dict[int, list[str]]] | None = None
    _wire: tuple[bytes, dict[int, bytes], bytes, bool] | None = None

    def frame(self, follows: list[int]) -> bytes:
        """The wire bytes of the ``tick`` frame of a viewer following ``follows``: the
        leaders' changed states, then its followed athletes' (not leaders) that changed,
        in the order followed: ``text_frame`` of the text PROTOCOL.md gives it."""
        head, others, shared, bare = self._wire or self._encode()
        extra = list(filter(None, map(others.get, follows)))
        if not extra:
            return shared
        if bare:  # no leader changed: the first state needs no comma before it
            extra[0] = extra[0][1:]
        return b"".join([frame_header(len(head) + sum(map(len, extra)) + 2), head, *extra, _TAIL])

    def _encode(self) -> tuple[bytes, dict[int, bytes], bytes, bool]:
        """Once a tick: the head (up to the leaders' states), every other changed athlete's
        state with its leading comma, the frame of a viewer with none of them, and whether
        the head holds no state."""
        leaders, joined = self.leaders_part()
        head = f'{{"type":"tick","seq":{self.seq},"t":{self.t},"athletes":[{joined}'.encode()
        others = {a: b"," + e.encode() for a, e in self.states.items() if a not in leaders}
        alone = head + _TAIL
        self._wire = (head, others, frame_header(len(alone)) + alone, not joined)
        return self._wire

    def leaders_part(self) -> tuple[frozenset[int], str]:
        """The leaders, and their changed states joined: the same in every viewer's tick."""
        if self._leaders is None:
            joined = ",".join(self.states[a] for a in self.leaders if a in self.states)
            self._leaders = (frozenset(self.leaders), joined)
        return self._leaders

    def result_frames(self) -> tuple[list[str], dict[int, list[str]]]:
        """This tick's ``result`` frames, encoded once for every viewer: the leaders' (every
        viewer gets them) and each other athlete's."""
        if self._results is None:
            leaders, _ = self.leaders_part()
            ours: list[str] = []
            others: dict[int, list[str]] = {}
            for athlete, point, passed, rank in self.results:
                frame = {"type": "result", "athlete": athlete, "point": point, "time": passed}
                encoded = dumps(frame | ({"rank": rank} if rank else {}))
                if athlete in leaders:
                    ours.append(encoded)
                else:
                    others.setdefault(athlete, []).append(encoded)
            self._results = (ours, others)
        return self._results
