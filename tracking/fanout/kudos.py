"""Kudos: a spectator cheers an athlete. Rate-limited per socket and per spectator,
stored in batches.

Thousands of spectators may cheer the leader at once: each process gathers its
kudos for a second, stores them in one transaction and tells the race once. A
socket's own bucket turns a flood away without leaving the process; what it lets
through is counted against the spectator (their account, session or the signed id the
live page gave their browser: ``tracking.fanout.spectators``) and their IP in the shared
limiter, so fifty sockets do not make fifty times the kudos. A socket with none of
these is no browser on our page: it is counted by its IP under a far lower limit.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import weakref
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import transaction
from django.db.models import F

from pace.lib.ratelimits import Limited, first_limited
from tracking.live.groups import race_group
from tracking.models import Kudos, Tracker

logger = logging.getLogger(__name__)
FLUSH_SECONDS = 1.0


@dataclass
class Bucket:
    """A token bucket: ``burst`` kudos at once, one more every ``refill`` seconds."""

    burst: int
    refill: float
    tokens: float = 0.0
    at: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.tokens = float(self.burst)

    def take(self, now: float | None = None, count: int = 1) -> bool:
        """Take ``count`` tokens if there are as many (none taken otherwise)."""
        now = time.monotonic() if now is None else now
        self.tokens = min(self.burst, self.tokens + (now - self.at) / self.refill)
        self.at = now
        if self.tokens < count:
            return False
        self.tokens -= count
        return True

    def wait(self, count: int = 1) -> int:
        """Whole seconds until ``take`` of ``count`` may succeed again (after a refusal)."""
        return max(1, math.ceil((min(count, self.burst) - self.tokens) * self.refill))


def spectator_key(*, user: Any, session_key: str | None, spectator_id: str | None) -> str | None:
    """Who is cheering, across their sockets: their account, else their session, else
    their browser's signed id; None for a socket with none (not our page: a script)."""
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    if session_key:
        return f"session:{session_key}"
    return f"browser:{spectator_id}" if spectator_id else None


async def kudos_limited(*, spectator: str | None, ip: str) -> Limited | None:
    """Count one kudos against its spectator and IP (``kudos.*`` in RATE_LIMITS); a
    socket without a spectator against its IP's far lower ``kudos.cookieless.ip`` too,
    so leaving the cookie out never gives more kudos than sending it."""
    whom = ("kudos.spectator", spectator) if spectator else ("kudos.cookieless.ip", ip)
    attempts = [("kudos.ip", ip), whom]
    return await sync_to_async(first_limited, thread_sensitive=False)(attempts=attempts)


@dataclass(frozen=True, slots=True)
class Cheer:
    race_id: int
    athlete: int
    sender: str
    user_id: int | None


def kudos_store(cheers: list[Cheer]) -> dict[int, tuple[int, int, str]]:
    """Store cheers; returns athlete -> (race, new total, last sender's name)."""
    counts = Counter(c.athlete for c in cheers)
    with transaction.atomic():
        Kudos.objects.bulk_create(
            Kudos(registration_id=c.athlete, user_id=c.user_id, from_name=c.sender) for c in cheers
        )
        for athlete, n in counts.items():
            Tracker.objects.filter(registration_id=athlete).update(kudos=F("kudos") + n)
        totals = dict(
            Tracker.objects.filter(registration_id__in=counts).values_list(
                "registration_id", "kudos"
            )
        )
    last = {c.athlete: c for c in cheers}
    return {a: (last[a].race_id, totals.get(a, n), last[a].sender) for a, n in counts.items()}


class KudosBatcher:
    """This process's kudos of the last second."""

    def __init__(self) -> None:
        self.cheers: list[Cheer] = []
        self.task: asyncio.Task[None] | None = None

    def add(self, cheer: Cheer) -> None:
        self.cheers.append(cheer)
        if self.task is None or self.task.done():
            self.task = asyncio.ensure_future(self._flush_soon())

    async def _flush_soon(self) -> None:
        await asyncio.sleep(FLUSH_SECONDS)
        await self.flush()

    async def flush(self) -> None:
        cheers, self.cheers = self.cheers, []
        if not cheers:
            return
        try:
            totals = await database_sync_to_async(kudos_store)(cheers)
        except Exception:
            logger.exception("could not store %d kudos", len(cheers))
            return
        by_race: dict[int, list[list[object]]] = {}
        for athlete, (race_id, count, sender) in totals.items():
            by_race.setdefault(race_id, []).append([athlete, count, sender])
        layer = get_channel_layer()
        for race_id, kudos in by_race.items():
            await layer.group_send(race_group(race_id), {"type": "race.kudos", "kudos": kudos})


_batchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, KudosBatcher] = (
    weakref.WeakKeyDictionary()
)


def kudos_batcher() -> KudosBatcher:
    loop = asyncio.get_running_loop()
    if loop not in _batchers:
        _batchers[loop] = KudosBatcher()
    return _batchers[loop]
