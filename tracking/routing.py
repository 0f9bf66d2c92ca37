"""WebSocket routes of live tracking (PROTOCOL.md: ``/ws/track/``, ``/ws/live/RACE_ID/``)."""

from __future__ import annotations

from django.urls import path

from tracking.control.consumers import ControlConsumer
from tracking.fanout.consumers import LiveConsumer
from tracking.ingest.consumers import TrackerConsumer

websocket_urlpatterns = [
    path("ws/track/", TrackerConsumer.as_asgi()),
    path("ws/live/<int:race_id>/", LiveConsumer.as_asgi()),
    path("ws/control/<int:race_id>/", ControlConsumer.as_asgi()),
]
