"""The project's ASGI application checks where browser sockets come from."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator


# Channels' consumers close stale database connections on every message.
@pytest.mark.django_db
def test_it_refuses_sockets_from_other_sites_but_not_from_apps():
    # Imported here, not at collection: importing pace.asgi installs the server patches
    # and must come after the session fixtures switched the embedded threads off.
    from pace.asgi import application

    async def attempt(headers):
        client = WebsocketCommunicator(application, "/ws/live/1/", headers=headers)
        connected, _ = await client.connect()
        await client.disconnect()
        return connected

    evil = async_to_sync(attempt)([(b"origin", b"https://evil.example"), (b"host", b"127.0.0.1")])
    assert evil is False
