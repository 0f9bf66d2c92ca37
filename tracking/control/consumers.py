"""``/ws/control/RACE_ID/``: race control's screen of a race. Only the race organizer's
members (``tracking.control.access``) get in; everyone else is refused (4403) before
the socket opens. It gets a snapshot (open alerts and unacknowledged SOS calls), then
what the race's control group carries: ``alerts`` (the ticker's whole list when it
changes), ``sos``, ``sos_ack`` and ``withdrawn``. Nothing is taken from the client:
race control acts through POSTs (``tracking.control.views``).

Unlike the spectators' sockets, each screen joins the group itself: a race has a
handful of them, not thousands.

Access is checked again while the screen is open (``tracking.control.access``): at once
when the user's membership or account changes (``control.recheck`` on the user's group),
and every ``RECHECK_SECONDS``; a user who may no longer watch is closed with 4403.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.core.cache import cache
from django.utils import timezone

from pace.lib.clock import SYSTEM, Clock
from pace.lib.jsonfast import dumps
from tracking.control import access
from tracking.control.access import control_race_by_id, control_user_group, may_still_control
from tracking.ingest.sos import sos_message
from tracking.live.alerts import alerts_cache_key
from tracking.live.groups import control_group
from tracking.models import SosCall, Withdrawal

OPEN_SOS_HOURS = 48


def open_sos_calls(*, race_id: int) -> list[dict[str, Any]]:
    """The race's SOS calls nobody acknowledged yet (of the last two days), newest first."""
    since = timezone.now() - dt.timedelta(hours=OPEN_SOS_HOURS)
    calls = SosCall.objects.filter(
        race_id=race_id, acknowledged_at__isnull=True, t__gte=since
    ).select_related("registration", "race")
    return [{k: v for k, v in sos_message(c).items() if k != "type"} for c in calls[:100]]


def withdrawn_athletes(*, race_id: int) -> list[int]:
    return list(
        Withdrawal.objects.filter(race_id=race_id).values_list("registration_id", flat=True)
    )


# channels ships no type information: its consumer is Any to mypy.
class ControlConsumer(AsyncWebsocketConsumer):  # type: ignore[misc]
    group = ""
    user_group = ""
    race_id = 0
    user_id = 0
    watch: asyncio.Task[None] | None = None
    clock: Clock = SYSTEM  # what the periodic re-check waits by (tests move it)

    async def connect(self) -> None:
        race_id = self.scope["url_route"]["kwargs"]["race_id"]
        race = await database_sync_to_async(control_race_by_id)(
            race_id=race_id, user=self.scope.get("user")
        )
        if race is None:
            await self.close(code=4403)
            return
        self.race_id, self.user_id = race.pk, self.scope["user"].pk
        self.group = control_group(race.pk)
        self.user_group = control_user_group(self.user_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.channel_layer.group_add(self.user_group, self.channel_name)
        await self.accept()
        self.watch = asyncio.ensure_future(self._recheck_every())
        alerts = await cache.aget(alerts_cache_key(race.pk)) or []
        sos = await database_sync_to_async(open_sos_calls)(race_id=race.pk)
        withdrawn = await database_sync_to_async(withdrawn_athletes)(race_id=race.pk)
        snapshot = {"type": "snapshot", "alerts": alerts, "sos": sos, "withdrawn": withdrawn}
        await self.send(text_data=dumps(snapshot))

    async def disconnect(self, code: int) -> None:
        if self.watch is not None:
            self.watch.cancel()
        for group in (self.group, self.user_group):
            if group:
                await self.channel_layer.group_discard(group, self.channel_name)

    async def _recheck_every(self) -> None:
        while True:
            await self.clock.sleep(access.RECHECK_SECONDS)
            if not await self._still_allowed():
                return

    async def _still_allowed(self) -> bool:
        """Whether this user may still watch; if not, the screen is closed with 4403."""
        allowed: bool = await database_sync_to_async(may_still_control)(
            race_id=self.race_id, user_id=self.user_id
        )
        if not allowed:
            await self.close(code=4403)
        return allowed

    async def control_recheck(self, event: dict[str, Any]) -> None:
        """The user's membership or account changed (``tracking.control.access``)."""
        await self._still_allowed()

    async def dispatch(self, message: dict[str, Any]) -> None:
        """A control-group event this screen does not know (a newer process) is skipped,
        not fatal to the socket."""
        kind = str(message.get("type", ""))
        if kind.startswith("control.") and not hasattr(self, kind.replace(".", "_")):
            return
        await super().dispatch(message)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        detail = "race control acts through its page's buttons, not this socket"
        await self.send(text_data=dumps({"type": "error", "code": "read_only", "detail": detail}))

    async def control_alerts(self, event: dict[str, Any]) -> None:
        frame = {"type": "alerts", "t": event.get("t"), "alerts": event.get("alerts", [])}
        await self.send(text_data=dumps(frame))

    async def control_sos(self, event: dict[str, Any]) -> None:
        await self.send(text_data=dumps({**event, "type": "sos"}))

    async def control_sos_ack(self, event: dict[str, Any]) -> None:
        await self.send(text_data=dumps({**event, "type": "sos_ack"}))

    async def control_withdrawn(self, event: dict[str, Any]) -> None:
        await self.send(text_data=dumps({**event, "type": "withdrawn"}))
