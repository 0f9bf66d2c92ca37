"""Driving the tracking consumers as clients do, in tests."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from tracking.fanout.hub import RaceHub
from tracking.fanout.tick import Tick
from tracking.routing import websocket_urlpatterns

APP = AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
_open: list[WebsocketCommunicator] = []


async def connect(path: str, *, headers: list | None = None) -> WebsocketCommunicator:
    client = WebsocketCommunicator(APP, path, headers=headers)
    # Connecting counts against the per-IP limit in the cache: a busy machine's Redis
    # round trip from a worker thread may take longer than the communicator's 1 s.
    connected, _ = await client.connect(timeout=5)
    assert connected
    _open.append(client)
    return client


def run(scenario: Callable[[], Awaitable[Any]]) -> Any:
    """Run a scenario of clients to its end, then close what it left open, as browsers do."""

    async def whole() -> Any:
        try:
            return await scenario()
        finally:
            while _open:
                client = _open.pop()
                with contextlib.suppress(Exception):
                    await client.disconnect()
            for task in asyncio.all_tasks() - {asyncio.current_task()}:
                task.cancel()

    # A thread of its own: a browser test may have left this thread's event loop running.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, whole()).result()


async def send(client: WebsocketCommunicator, frame: Any) -> None:
    await client.send_to(text_data=frame if isinstance(frame, str) else json.dumps(frame))


async def frame(client: WebsocketCommunicator, timeout: float = 3) -> dict[str, Any]:
    return json.loads(await client.receive_from(timeout))


async def frames_until(client: WebsocketCommunicator, kind: str, timeout: float = 3) -> list[dict]:
    """Frames up to and including the first of ``kind``."""
    out = []
    deadline = time.monotonic() + timeout
    while True:
        got = await frame(client, max(0.1, deadline - time.monotonic()))
        out.append(got)
        if got["type"] == kind:
            return out


async def outbox_written(hub: Any) -> None:
    """Until a ``RaceHub``'s outbox is written: the frames a socket could not take at once
    (a communicator's never can) are then with their clients."""
    while hub.sending is not None and not hub.sending.done():
        await hub.sending


def point(t: float, lat: float = 45.0, lon: float = 6.0, **extra: Any) -> dict[str, Any]:
    return {"t": t, "lat": lat, "lon": lon, **extra}


class QuietListener:
    """A hub listener hearing nothing: a test's own listener overrides what it watches."""

    def hub_synced(self, hub: RaceHub) -> None: ...
    def hub_tick(self, tick: Tick, hub: RaceHub) -> None: ...
    def hub_post(self, encoded: str, hub: RaceHub) -> None: ...
    def hub_kudos(self, athlete: int, count: int, sender: str, hub: RaceHub) -> None: ...
    def hub_result(self, athlete: int, encoded: str, hub: RaceHub) -> None: ...
    def hub_revoked(self, athletes: list[int]) -> None: ...


def confirmed_entry(event: Any) -> Any:
    """A confirmed, free registration for ``event``'s one race (bib = the race's id)."""
    from django.utils import timezone

    from events.models import Registration
    from events.tests.factories import ENTRY_FORM

    race = event.races.get()
    fields = {k: v for k, v in ENTRY_FORM.items() if k != "waiver"}
    return Registration.objects.create(
        race=race, event=event, status="confirmed", price=0, currency="EUR",
        waiver_accepted_at=timezone.now(), manage_token=f"t{race.pk}", bib=f"{race.pk}",
        **fields,
    )  # fmt: skip
