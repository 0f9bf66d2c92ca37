"""WebSocket routes of live tracking (``/ws/track/``, ``/ws/live/RACE_ID/``, issue 5)."""

from __future__ import annotations

from typing import Any

websocket_urlpatterns: list[Any] = []
