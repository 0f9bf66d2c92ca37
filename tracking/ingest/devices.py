"""What each process remembers of device ids it looked up, and forgetting it at once.

OsmAnd sends one request per fix, so each process remembers looked-up ids for a
while (``athlete_for_device_cached``); a change of a tracker's device (a new id, a
relink, a revoked or new token, a transfer) is announced after commit to the
channel-layer group every process serving ``/osmand/`` joins (``DEVICES_GROUP``), so
no process goes on taking fixes from a replaced id. Both know an id by its digest
(``tracking.models.secret_digest``, what the database looks it up by): no id is kept in
clear, in memory or on the channel layer.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from asgiref.sync import async_to_sync
from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import InMemoryChannelLayer, channel_layers, get_channel_layer
from django.db import transaction

from tracking.ingest.athletes import Athlete, athlete_for_device
from tracking.models import secret_digest

logger = logging.getLogger(__name__)

DEVICES_GROUP = "tracking.devices"
# channels_redis forgets a group's members after a day (its group_expiry): join again
# well before that, for a process that serves /osmand/ for weeks.
REJOIN_SECONDS = 3600.0
# What closing a listener's own layer may take when its loop ends (``_listen``).
CLOSE_POOLS_SECONDS = 2.0

# Oldest first: a flood of unknown ids pushes out only the oldest entries, not every
# real phone's (each of those is looked up again within its 30 s anyway).
_devices: OrderedDict[str, tuple[float, Athlete | None]] = OrderedDict()
_devices_lock = threading.Lock()
DEVICE_CACHE_SECONDS = 30.0
DEVICE_CACHE_SIZE = 50_000


def remembered_device(device_id: str) -> tuple[bool, Athlete | None]:
    """(True, athlete or None) when this process looked ``device_id`` up in the last
    ``DEVICE_CACHE_SECONDS``; (False, None) when a lookup is needed."""
    now, digest = time.monotonic(), secret_digest(device_id)
    with _devices_lock:
        found = _devices.get(digest)
        if found is None or now - found[0] >= DEVICE_CACHE_SECONDS:
            return False, None
        _devices.move_to_end(digest)
    return True, found[1]


def athlete_for_device_cached(device_id: str) -> Athlete | None:
    """``athlete_for_device``, remembered for a while: OsmAnd sends one request per fix.

    A change of a tracker's device is forgotten at once (``devices_forget_on_commit``)."""
    known, athlete = remembered_device(device_id)
    if known:
        return athlete
    athlete, digest = athlete_for_device(device_id), secret_digest(device_id)
    with _devices_lock:
        _devices[digest] = (time.monotonic(), athlete)
        _devices.move_to_end(digest)
        while len(_devices) > DEVICE_CACHE_SIZE:
            _devices.popitem(last=False)
    return athlete


def forget_devices(digests: list[str]) -> None:
    """Drop what this process remembers of these ids, named by digest (their tracker changed)."""
    with _devices_lock:
        for digest in digests:
            _devices.pop(digest, None)


def devices_forget_on_commit(*, digests: Iterable[str | None]) -> None:
    """After commit, every process drops what it remembers of these ids (old and new),
    named by their digests (``Tracker.device_digest``)."""
    ids = sorted({d for d in digests if d})
    if not ids:
        return

    def send() -> None:
        forget_devices(ids)  # this process at once, whatever the channel layer does
        try:
            async_to_sync(get_channel_layer().group_send)(
                DEVICES_GROUP, {"type": "devices.forget", "digests": ids}
            )
        except Exception:  # the change is stored; other processes forget within 30 s
            logger.exception("could not tell other processes to forget %d device ids", len(ids))

    transaction.on_commit(send)


_listeners: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[Any, asyncio.Task[None]]]
_listeners = weakref.WeakKeyDictionary()


async def devices_listen() -> None:
    """Have this process hear ``devices.forget`` (once per event loop and channel layer).

    Awaited by the server's long-lived loop before a device is first remembered, so that
    no id is remembered unheard (a request on a loop of its own does not listen:
    ``views.osmand_point``). A channel layer that fails is logged and left: lookups then
    hold for their 30 s.
    """
    loop = asyncio.get_running_loop()
    shared = get_channel_layer()
    known = _listeners.get(loop)
    if known is not None and known[0] is shared and not known[1].done():
        return
    # Redis's layer receives on one event loop only, so each loop listening has its own
    # (a server has one loop for good); the in-memory layer is this process's groups.
    layer = (
        shared
        if isinstance(shared, InMemoryChannelLayer)
        else channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
    )
    try:
        channel = await layer.new_channel()
        await layer.group_add(DEVICES_GROUP, channel)
    except Exception:
        logger.exception("cannot hear device changes: remembered ids hold for their time")
        return
    _listeners[loop] = (shared, asyncio.ensure_future(_listen(layer, channel)))


async def _listen(layer: Any, channel: str) -> None:
    loop = asyncio.get_running_loop()
    rejoin = loop.time() + REJOIN_SECONDS
    try:
        while True:
            try:
                if loop.time() >= rejoin:
                    await layer.group_add(DEVICES_GROUP, channel)
                    rejoin = loop.time() + REJOIN_SECONDS
                message = await asyncio.wait_for(layer.receive(channel), REJOIN_SECONDS)
            except TimeoutError:
                continue
            except Exception:
                task = asyncio.current_task()
                if task is not None and task.cancelling():  # a client's error for a cancel
                    raise
                logger.exception("device changes: the channel layer failed; listening again")
                await asyncio.sleep(1.0)
                continue
            if message.get("type") == "devices.forget":
                ids = message.get("digests") or []
                forget_devices([d for d in ids if isinstance(d, str)])
    finally:
        if layer is not get_channel_layer() and hasattr(layer, "close_pools"):
            # Bounded: when the loop ends, the layer's cleanup waits for its receive
            # cleaners and its pools' lock; the loop's close must not wait on them.
            try:
                await asyncio.wait_for(layer.close_pools(), CLOSE_POOLS_SECONDS)
            except Exception:
                logger.warning("device changes: the layer did not close in time", exc_info=True)
