"""A race's tick as this process's listeners read it: decoded once, shared by all.

The hub builds one from each ``race.tick`` message; its mirror applies it, every
viewer and phone reads it, and what every viewer would encode alike is encoded here
once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pace.lib.jsonfast import dumps


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
