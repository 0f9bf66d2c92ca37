"""PROTOTYPE, for measurement (``python -m bench.http --app bench.fastpath:application``).

Serves page-cache hits in the ASGI layer, before Django's ASGI handler: one Redis
MGET (the public-pages version and the entry written by
``pace.lib.pagecache.cached_public_page``), then the stored body. Everything else,
and every request that might be a logged-in visitor's (a session cookie) or carry a
flash message, goes to Django unchanged.

Django's handler costs several ms of CPU per request under daphne (a thread per
request, sync/async switches around each middleware); a hit served here costs well
under one. Not wired into ``pace.asgi``: adopting it means moving it next to
``pagecache`` (it depends on its key and entry format) and testing that its
responses carry the same headers as Django's (the list below follows the settings
the middleware read).
"""

from __future__ import annotations

import os
import pickle
from types import SimpleNamespace
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pace.settings")

from django.conf import settings
from django.http import QueryDict
from django.http.request import split_domain_port, validate_host

from pace.asgi import application as django_application
from pace.lib.pagecache import VERSION_KEY, _page_key

_client: Any = None


def _redis() -> Any:
    global _client
    if _client is None:
        import redis.asyncio

        _client = redis.asyncio.from_url(settings.REDIS_URL)
    return _client


def _key(name: str) -> str:
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
    return f"{prefix}:1:{name}"  # Django's default KEY_FUNCTION, cache version 1


def _static_headers() -> list[tuple[bytes, bytes]]:
    headers = [(b"vary", b"Cookie")]  # SessionMiddleware: the session was looked at
    headers.append((b"cache-control", f"public, max-age={settings.PAGE_CACHE_SECONDS}".encode()))
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append((b"x-content-type-options", b"nosniff"))
    if settings.SECURE_REFERRER_POLICY:
        headers.append((b"referrer-policy", settings.SECURE_REFERRER_POLICY.encode()))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        coop = settings.SECURE_CROSS_ORIGIN_OPENER_POLICY.encode()
        headers.append((b"cross-origin-opener-policy", coop))
    headers.append((b"x-frame-options", settings.X_FRAME_OPTIONS.encode()))
    return headers


_HEADERS = _static_headers()


def _digest(scope: dict[str, Any]) -> str | None:
    """The page-cache key digest Django would compute for this request.

    Every parameter counts: a request with one its page does not use gets a key no
    entry was ever stored under (the page cache does not store those), so it falls
    through to Django.
    """
    if scope.get("root_path"):
        return None  # request.path would differ from scope["path"]
    query = QueryDict(scope.get("query_string", b"").decode("latin-1"))
    request = SimpleNamespace(path=scope["path"], GET=query)
    return _page_key(request, frozenset(query))  # type: ignore[arg-type]


def _may_serve(scope: dict[str, Any]) -> bool:
    if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
        return False
    if not settings.REDIS_URL or settings.PAGE_CACHE_SECONDS <= 0:
        return False
    headers = dict(scope["headers"])
    cookie = headers.get(b"cookie", b"").decode("latin-1")
    if settings.SESSION_COOKIE_NAME in cookie or "messages" in cookie:
        return False
    host, _ = split_domain_port(headers.get(b"host", b"").decode("latin-1"))
    return bool(host) and validate_host(host, settings.ALLOWED_HOSTS)


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    digest = None
    if _may_serve(scope):
        digest = _digest(scope)
    if digest is not None:
        version, entry = await _redis().mget(_key(VERSION_KEY), _key(f"public-page:{digest}"))
        if version is not None and entry is not None:
            entry_version, content, content_type = pickle.loads(entry)
            if entry_version == int(version):
                headers = [
                    (b"content-type", content_type.encode()),
                    (b"content-length", str(len(content)).encode()),
                    *_HEADERS,
                ]
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                body = content if scope["method"] == "GET" else b""
                await send({"type": "http.response.body", "body": body})
                return
    await django_application(scope, receive, send)
