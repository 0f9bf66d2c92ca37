"""Strava's rate limits, shared by every worker through the default cache.

Strava counts per application: overall 200 requests / 15 min and 2,000 / day, reads
100 / 15 min and 1,000 / day; 15-minute windows reset at :00, :15, :30 and :45, days at
midnight UTC. Each call reserves its place in the counters of its windows *before* it is
sent (an atomic ``incr`` per counter, given back when one is over), so concurrent workers
can never send more than the limits allow. Every response's ``X-RateLimit-*`` and
``X-ReadRateLimit-*`` headers then raise the counters to Strava's own count (requests
made elsewhere, counters lost) and update the limits. A 429 pauses everyone until the
window resets. Nothing sleeps: a refused reservation says when to come back.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from pace.lib.clock import SYSTEM, Clock

logger = logging.getLogger(__name__)

WINDOW = 900
DAY = 86_400
_PAUSE_KEY = "strava:quota:paused"
_LIMITS_KEY = "strava:quota:limits"


def window_start(t: float) -> int:
    """The start of the 15-minute window holding ``t`` (epoch seconds, UTC)."""
    return int(t // WINDOW) * WINDOW


def next_window(t: float) -> int:
    """When the window holding ``t`` ends: the next :00, :15, :30 or :45."""
    return window_start(t) + WINDOW


def day_start(t: float) -> int:
    return int(t // DAY) * DAY


def next_midnight(t: float) -> int:
    return day_start(t) + DAY


class QuotaSpentError(Exception):
    """No request may be sent before ``reset_at`` (epoch seconds)."""

    retryable = True

    def __init__(self, reset_at: float, reason: str) -> None:
        super().__init__(f"{reason}; next at {reset_at:.0f}")
        self.reset_at = reset_at
        self.reason = reason


@dataclass(frozen=True)
class Limits:
    read: tuple[int, int]  # 15 min, daily
    overall: tuple[int, int]


@dataclass(frozen=True)
class Usage:
    read: tuple[int, int]
    overall: tuple[int, int]
    limits: Limits
    paused_until: float | None


def _pair(value: str | None) -> tuple[int, int] | None:
    """ "100,1000" → (100, 1000); None for anything else."""
    if not value:
        return None
    parts = value.split(",")
    try:
        first, second = (int(p.strip()) for p in parts)
    except ValueError:
        return None
    return (first, second) if first >= 0 and second >= 0 else None


class Quota:
    def __init__(self, *, clock: Clock = SYSTEM) -> None:
        self.clock = clock

    def limits(self) -> Limits:
        stored = cache.get(_LIMITS_KEY)
        if isinstance(stored, Limits):
            return stored
        return Limits(tuple(settings.STRAVA_READ_LIMITS), tuple(settings.STRAVA_OVERALL_LIMITS))  # type: ignore[arg-type]

    @staticmethod
    def _keys(kind: str, t: float) -> tuple[tuple[str, int, int], tuple[str, int, int]]:
        """(key, ttl, reset time) of the 15-minute and the daily counter of ``kind`` at t."""
        w, d = window_start(t), day_start(t)
        return (
            (f"strava:quota:{kind}:15:{w}", WINDOW + 60, w + WINDOW),
            (f"strava:quota:{kind}:day:{d}", DAY + 60, d + DAY),
        )

    def _counters(
        self, *, read: bool, t: float, reserve: float = 0.0
    ) -> list[tuple[str, int, int, int]]:
        """(key, ttl, reset, limit) of every counter a request of this kind counts in;
        ``reserve`` keeps that share of each limit for others (fresh work)."""
        limits = self.limits()
        kinds = [("all", limits.overall)] + ([("read", limits.read)] if read else [])
        return [
            (key, ttl, reset, int(limit[i] * (1.0 - reserve)))
            for kind, limit in kinds
            for i, (key, ttl, reset) in enumerate(self._keys(kind, t))
        ]

    def paused_until(self) -> float | None:
        until = cache.get(_PAUSE_KEY)
        return float(until) if until is not None and until > self.clock.time() else None

    def acquire(self, *, read: bool, reserve: float = 0.0) -> int:
        """Reserve one request now; returns its window's start, or raises QuotaSpentError.
        With ``reserve``, refuse once only that share of a limit is left."""
        now = self.clock.time()
        paused = self.paused_until()
        if paused is not None:
            raise QuotaSpentError(paused, "paused after a 429")
        taken: list[str] = []
        for key, ttl, reset, limit in self._counters(read=read, t=now, reserve=reserve):
            cache.add(key, 0, timeout=ttl)
            try:
                count = cache.incr(key)
            except ValueError:  # expired between add and incr: a fresh window
                cache.add(key, 1, timeout=ttl)
                count = 1
            taken.append(key)
            if count > limit:
                for done in taken:
                    self._give_back(done)
                raise QuotaSpentError(reset, "rate limit reached")
        return window_start(now)

    @staticmethod
    def _give_back(key: str) -> None:
        with contextlib.suppress(ValueError):  # the window ended: nothing to give back
            cache.decr(key)

    def release(self, *, read: bool, window: int) -> None:
        """Give back a reservation whose request was never sent."""
        for key, *_ in self._counters(read=read, t=window):
            self._give_back(key)

    def blocked_until(self, *, read: bool = True, reserve: float = 0.0) -> float | None:
        """When a request of this kind may next go out, or None if it may now."""
        paused = self.paused_until()
        if paused is not None:
            return paused
        counters = self._counters(read=read, t=self.clock.time(), reserve=reserve)
        counts = cache.get_many([key for key, *_ in counters])  # one round trip
        spent = [reset for key, _, reset, limit in counters if counts.get(key, 0) >= limit]
        return float(max(spent)) if spent else None

    def record(self, headers: Mapping[str, str], *, window: int) -> None:
        """Bring limits and counters up to a response's headers (sent in ``window``)."""
        read_limit = _pair(headers.get("X-ReadRateLimit-Limit"))
        all_limit = _pair(headers.get("X-RateLimit-Limit"))
        if read_limit and all_limit:
            limits = Limits(read_limit, all_limit)
            if limits != self.limits():
                cache.set(_LIMITS_KEY, limits, timeout=DAY)
        if window_start(self.clock.time()) != window:
            return  # answered in the next window: its usage is not this window's
        theirs: dict[str, tuple[int, int]] = {}
        for kind, header in (("read", "X-ReadRateLimit-Usage"), ("all", "X-RateLimit-Usage")):
            usage = _pair(headers.get(header))
            for (key, ttl, _), count in zip(self._keys(kind, window), usage or (), strict=False):
                theirs[key] = (count, ttl)
        ours = cache.get_many(list(theirs))  # one round trip; this call's own keys exist
        for key, (count, ttl) in theirs.items():
            behind = count - ours.get(key, 0)
            if behind > 0:  # calls we did not count: catch up, never count down
                cache.add(key, 0, timeout=ttl)
                cache.incr(key, behind)

    def pause(self, *, headers: Mapping[str, str]) -> float:
        """After a 429: nobody sends until the window (or, when a daily limit is spent,
        the day) resets. Returns that time."""
        now = self.clock.time()
        until: float = next_window(now)
        for usage_h, limit_h in (
            ("X-ReadRateLimit-Usage", "X-ReadRateLimit-Limit"),
            ("X-RateLimit-Usage", "X-RateLimit-Limit"),
        ):
            usage, limit = _pair(headers.get(usage_h)), _pair(headers.get(limit_h))
            if usage and limit and usage[1] >= limit[1]:
                until = next_midnight(now)
        cache.set(_PAUSE_KEY, until, timeout=max(1, int(until - now) + 5))
        logger.warning("Strava answered 429: every worker pauses until %s", until)
        return until

    def usage(self) -> Usage:
        now = self.clock.time()

        def counts(kind: str) -> tuple[int, int]:
            fifteen, daily = self._keys(kind, now)
            return (cache.get(fifteen[0]) or 0, cache.get(daily[0]) or 0)

        return Usage(counts("read"), counts("all"), self.limits(), self.paused_until())
