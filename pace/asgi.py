"""ASGI entry point: HTTP through Django (page-cache hits before it), WebSockets via Channels."""

from __future__ import annotations

import os
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pace.settings")
django.setup(set_prefix=False)  # what get_asgi_application() does before its handler

from pace.daphne_patches.syncchain import OneThreadASGIHandler  # noqa: E402

django_asgi_app = OneThreadASGIHandler()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import OriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from pace.daphne_patches import (  # noqa: E402
    accesslog,
    handshake,
    httphead,
    inbound,
    sweeps,
    twisted_tcp,
)
from pace.daphne_patches.fastpath import PageFastPath, favour_event_loop  # noqa: E402
from pace.daphne_patches.gctune import tune_for_server  # noqa: E402
from pace.lib.templatewarm import compile_templates  # noqa: E402
from pace.lib.wsauth import SessionWhenCookie  # noqa: E402
from pace.routing import websocket_urlpatterns  # noqa: E402
from pace.scheduler import start_embedded_scheduler  # noqa: E402
from tracking.live.ticker import EmbeddedTickers  # noqa: E402
from tracking.web.livefield import shared_document_answer  # noqa: E402

if settings.EMBEDDED_SCHEDULER:
    start_embedded_scheduler()


class BrowserOriginValidator(OriginValidator):
    """Refuse browsers on other sites (they would ride the visitor's session cookie);
    accept clients that send no Origin at all: phones, tracker apps and media clients,
    which authenticate with tokens and carry no cookies of ours."""

    def valid_origin(self, parsed_origin: object) -> bool:
        return parsed_origin is None or self.validate_origin(parsed_origin)


class ServerSend:
    """Put the server's own ``send`` in the scope as ``server_send``.

    Live consumers send thousands of frames a tick; through ``server_send`` they skip
    the session middleware's wrapper of ``send`` (it acts on HTTP responses only), a
    few microseconds a frame."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app({**scope, "server_send": send}, receive, send)


application = EmbeddedTickers(
    ProtocolTypeRouter(
        {
            # field.json and roster.json of public races: 20,000 pages fetch both at
            # a start gun, answered from memory (tracking/web/livefield.py).
            "http": PageFastPath(django_asgi_app, answers=[shared_document_answer]),
            "websocket": ServerSend(
                BrowserOriginValidator(
                    # The session and user are looked up only for sockets with a session
                    # cookie: a start gun's thousands of phones and spectators without
                    # one cost no thread hop (pace/lib/wsauth.py).
                    SessionWhenCookie(URLRouter(websocket_urlpatterns)),
                    settings.ALLOWED_HOSTS,
                )
            ),
        }
    )
)

twisted_tcp.install()
sweeps.install()
handshake.install()
inbound.install()
httphead.install()
accesslog.install()
compile_templates()  # before gc.freeze(): they live as long as the process
tune_for_server()
favour_event_loop()
