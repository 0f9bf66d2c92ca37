"""Sessions and users for WebSockets, looked up only for sockets that carry a session.

Channels' ``AuthMiddlewareStack`` builds every socket's session store and resolves its
user through ``database_sync_to_async``: two hops to the one shared sync thread per
new socket, with or without a cookie. Phones, tracker apps, media clients and most
spectators send no session cookie, and at a start gun thousands of them connect in a
second: those hops queued behind each other on that one thread, so handshakes waited
seconds for nothing (the anonymous user a missing cookie gives anyway), clients gave
up, and daphne logged "took too long to shut down" for the consumers still waiting.

:class:`SessionWhenCookie` sends a socket carrying the session cookie through the whole
stack, exactly as before; any other gets ``cookies`` parsed as Channels parses them and
the anonymous user, with no thread hop and no query. Access rules read ``scope["user"]``
as before: what a cookie-less socket resolved to is what it now gets at once.
"""

from __future__ import annotations

from typing import Any

from channels.auth import AuthMiddlewareStack
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http.cookie import parse_cookie


def scope_cookies(scope: dict[str, Any]) -> dict[str, str]:
    """The socket's cookies, as ``channels.sessions.CookieMiddleware`` reads them."""
    for name, value in scope.get("headers", ()):
        if name == b"cookie":
            return parse_cookie(value.decode("latin1"))
    return {}


class SessionWhenCookie:
    """``AuthMiddlewareStack(inner)`` for sockets with a session cookie; the anonymous user
    at once for the others."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.with_session = AuthMiddlewareStack(inner)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        cookies = scope_cookies(scope)
        if settings.SESSION_COOKIE_NAME in cookies:
            await self.with_session(scope, receive, send)
            return
        await self.inner({**scope, "cookies": cookies, "user": AnonymousUser()}, receive, send)
