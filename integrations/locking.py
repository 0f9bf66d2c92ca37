"""A lock every worker shares, in the default cache (Redis in production, memory embedded)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.cache import cache


class LockBusyError(Exception):
    """Another worker held the lock for the whole wait: try again later (retryable)."""


@contextmanager
def shared_lock(name: str, *, ttl: float = 30.0, wait: float = 10.0) -> Iterator[None]:
    """Hold ``name`` across every process; ``ttl`` frees it should its holder die."""
    key = f"lock:{name}"
    token = secrets.token_hex(8)
    deadline = time.monotonic() + wait
    while not cache.add(key, token, timeout=ttl):
        if time.monotonic() > deadline:
            raise LockBusyError(name)
        time.sleep(0.05)  # another worker's refresh takes one HTTP round trip
    try:
        yield
    finally:
        # Not atomic with the read, but the holder only misses a release when its ttl had
        # already run out, and then the next holder's key would be deleted: keep ttl ample.
        if cache.get(key) == token:
            cache.delete(key)
