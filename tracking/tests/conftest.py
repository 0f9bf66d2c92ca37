"""Live tracking tests: a fresh live store per test, tickers driven by hand."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _field_frames_on_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Field frames exactly ``interval`` ticks after a snapshot, so that tests know when
    they come (``test_viewer`` checks the random lag itself)."""
    from tracking.fanout import viewer

    class NoLag:
        @staticmethod
        def randrange(stop: int) -> int:
            return 0

    monkeypatch.setattr(viewer, "random", NoLag)


@pytest.fixture(autouse=True)
def _fresh_live_store(settings: Any) -> Iterator[None]:
    """Each test starts with an empty live store (and, on Redis, without this worker's keys)."""
    import redis
    from channels.layers import channel_layers

    from tracking import selectors
    from tracking.ingest import commit, devices
    from tracking.live import livestore

    settings.EMBEDDED_TICKERS = False
    # A fresh channel layer per test: each test runs its own event loop, and a layer's
    # locks belong to the loop that first used them (a server has one loop for good).
    channel_layers.backends.clear()
    livestore._store = None
    selectors._watchable.clear()
    selectors._rereading.clear()
    devices._devices.clear()
    if settings.REDIS_URL:
        client = redis.Redis.from_url(settings.REDIS_URL)
        keys = list(client.scan_iter(f"{settings.REDIS_KEY_PREFIX}:*"))
        if keys:
            client.delete(*keys)
        client.close()
    yield
    livestore._store = None
    commit.close_writer_connection()
