"""The one rule of what a device id may be (README, "Live tracking"), and forgetting old ones.

``/osmand/`` takes fixes from whoever names a linked id, so a short or patterned one
would let anyone send positions as its athlete. The tracker page and the admin refuse
to link such an id (``trackers.clean_device_id``), the ingest never looks one up
(``ingest.athlete_for_device``), and migration 0005 replaced those stored before the
rule: all three ask ``device_id_problem``.

Each process remembers looked-up ids for a while (``ingest.athlete_for_device_cached``);
a change of a tracker's device (a new id, a relink, a revoked or new token, a transfer)
is announced after commit to the channel-layer group every process serving ``/osmand/``
joins (``DEVICES_GROUP``), so no process goes on taking fixes from a replaced id.
"""

from __future__ import annotations

import asyncio
import logging
import re
import weakref
from collections.abc import Iterable
from typing import Any

from asgiref.sync import async_to_sync
from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import InMemoryChannelLayer, channel_layers, get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

DEVICE_ID_MAX = 100
DEVICE_ID_MIN = 8
DIGITS_ONLY_MIN = 12
DISTINCT_MIN = 5
_DEVICE_ID = re.compile(r"[A-Za-z0-9._~-]+")

DEVICES_GROUP = "tracking.devices"
# channels_redis forgets a group's members after a day (its group_expiry): join again
# well before that, for a process that serves /osmand/ for weeks.
REJOIN_SECONDS = 3600.0


def device_id_problem(device_id: str) -> str | None:
    """Why ``device_id`` may not name a tracker (shown to the athlete), or None if it may.

    8 to 100 characters that need no escaping in a URL, at least 12 when only digits (an
    8-digit number is one of 10^8, a sweep away), and at least 5 different characters
    (no ``aaaaaaaa``, ``12121212``).
    """
    if not device_id:
        return "Enter the device identifier shown in your tracker app."
    if len(device_id) > DEVICE_ID_MAX:
        return f"A device identifier has at most {DEVICE_ID_MAX} characters."
    if not _DEVICE_ID.fullmatch(device_id):
        return (
            "A device identifier may hold only letters A-Z and a-z, digits, '.', '_', '~' and '-'."
        )
    if len(device_id) < DEVICE_ID_MIN:
        return (
            f"A device identifier needs at least {DEVICE_ID_MIN} characters: a short one "
            "is easy to guess. Type a longer one in your app, or use the one Pace issued."
        )
    if device_id.isdigit() and len(device_id) < DIGITS_ONLY_MIN:
        return (
            f"A device identifier of digits only needs at least {DIGITS_ONLY_MIN} of them: "
            "a shorter number is easy to guess. Add letters, or use the one Pace issued."
        )
    if len(set(device_id)) < DISTINCT_MIN:
        return (
            f"A device identifier needs at least {DISTINCT_MIN} different characters: "
            "a repeated pattern is easy to guess."
        )
    return None


def is_valid_device_id(value: object) -> bool:
    """May ``value`` name a tracker? Asked before any query: no weak id ever matches."""
    return isinstance(value, str) and device_id_problem(value) is None


def devices_forget_on_commit(*, device_ids: Iterable[str | None]) -> None:
    """After commit, every process drops what it remembers of these ids (old and new)."""
    ids = sorted({d for d in device_ids if d})
    if not ids:
        return

    def send() -> None:
        from tracking.ingest import forget_devices

        forget_devices(ids)  # this process at once, whatever the channel layer does
        try:
            async_to_sync(get_channel_layer().group_send)(
                DEVICES_GROUP, {"type": "devices.forget", "device_ids": ids}
            )
        except Exception:  # the change is stored; other processes forget within 30 s
            logger.exception("could not tell other processes to forget %d device ids", len(ids))

    transaction.on_commit(send)


_listeners: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[Any, asyncio.Task[None]]]
_listeners = weakref.WeakKeyDictionary()


async def devices_listen() -> None:
    """Have this process hear ``devices.forget`` (once per event loop and channel layer).

    Awaited before a device is first remembered, so that no id is remembered unheard.
    A channel layer that fails is logged and left: lookups then hold for their 30 s.
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
    from tracking.ingest import forget_devices

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
                ids = message.get("device_ids") or []
                forget_devices([d for d in ids if isinstance(d, str)])
    finally:
        if layer is not get_channel_layer() and hasattr(layer, "close_pools"):
            await layer.close_pools()
