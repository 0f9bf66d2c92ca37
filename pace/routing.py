"""WebSocket routes of every app, in one list for ``pace.asgi``."""

from __future__ import annotations

from tracking.routing import websocket_urlpatterns as tracking_routes

websocket_urlpatterns = [*tracking_routes]
