"""Phones that connect at once are looked up together.

A start gun, or a restarted process's phones reconnecting, brings a thousand trackers a
second. Each needs its token's athlete and the last ``seq`` stored from its device
before its ``welcome``; one hop to the database thread each (two queries, the ORM's
and the thread's own overhead) queued them on the one thread every consumer of a
process shares, and phones waited tens of seconds for a welcome. So a process gathers
the lookups asked for while one is under way and answers them all with the next hop:
two queries for the batch (``athletes.athletes_and_last_seqs``), the way the group
commit gathers fixes. No timer: a lone phone is looked up at once.

The same hop reads the phones' races for spectators' sockets (``selectors.remember_races``):
phones connect first, and a process's first spectator would otherwise wait for the race's
lookup behind the database thread of a loop busy with its thousands of phones.
"""

from __future__ import annotations

import asyncio
import weakref

from channels.db import database_sync_to_async

from tracking import selectors
from tracking.ingest.athletes import Athlete, athletes_and_last_seqs

MAX_BATCH = 500  # keys a query names at most (an IN list PostgreSQL and SQLite take well)

Found = tuple[Athlete | None, int | None]


class Welcomes:
    """One event loop's gatherer of tracker lookups."""

    def __init__(self) -> None:
        self.pending: dict[tuple[str, int], list[asyncio.Future[Found]]] = {}
        self.draining: asyncio.Task[None] | None = None  # the task answering the pending lookups
        self.hops = 0  # lookups made (each answering a batch)

    async def lookup(self, token: str, device: int) -> Found:
        """The token's athlete and the last ``seq`` stored from ``device``."""
        future: asyncio.Future[Found] = asyncio.get_running_loop().create_future()
        self.pending.setdefault((token, device), []).append(future)
        if self.draining is None:
            self.draining = asyncio.ensure_future(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self.pending:
                keys = list(self.pending)[:MAX_BATCH]
                batch = {key: self.pending.pop(key) for key in keys}
                self.hops += 1
                try:
                    found = await database_sync_to_async(_look_up)(keys)
                except Exception as exc:  # the database is away: every waiter hears it
                    for futures in batch.values():
                        for future in futures:
                            if not future.done():
                                future.set_exception(exc)
                    continue
                for key, futures in batch.items():
                    for future in futures:
                        if not future.done():  # its socket may have gone meanwhile
                            future.set_result(found[key])
        finally:
            self.draining = None


def _look_up(keys: list[tuple[str, int]]) -> dict[tuple[str, int], Found]:
    """The batch's athletes and last seqs; their races, read for spectators (at most once
    every ``selectors.WATCHABLE_CACHE_SECONDS`` each)."""
    found = athletes_and_last_seqs(keys)
    selectors.remember_races({athlete.race_id for athlete, _ in found.values() if athlete})
    return found


_loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Welcomes] = weakref.WeakKeyDictionary()


def welcomes() -> Welcomes:
    """This event loop's gatherer (a server has one loop; tests may run several)."""
    loop = asyncio.get_running_loop()
    found = _loops.get(loop)
    if found is None:
        found = _loops[loop] = Welcomes()
    return found
