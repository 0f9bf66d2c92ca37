"""Public pages' cache hits answered in the ASGI layer, before Django's handler.

Under daphne, Django's ASGI handler costs several milliseconds of CPU per request
(a thread per request, sync/async switches around the middleware) while a page-cache
hit needs none of it: ``PageFastPath`` builds Django's own request for an HTTP scope,
runs the request and response halves of the middleware itself (they do no I/O for a
visitor without a session), reads the cache without leaving the event loop and
answers with ``pagecache.hit_response`` (a guarded entry, a results page, costs a
second read: its guard's value). Before the cache, the answers it was given (``answers``:
an app's documents kept in the process's memory, such as the live page's shared field)
may answer with no I/O at all. Anything else (a miss, a session cookie, a POST, a bad
Host, a redirect the middleware asks for, a WebSocket) goes to Django unchanged, so a hit
is the response Django would give, by construction.

Both topologies: with Redis, one ``redis.asyncio`` pool per process; with the embedded
locmem cache, the process's own memory, read in place (a dict behind a lock).

It mirrors Django 5.2.19's ASGI handler, cache reads and middleware, whose source
the same test pins.
Written against daphne 4.2.3 / Twisted 26.10.0 / autobahn 26.11.1; checked by
pace/tests/test_daphne_patches_upstream.py.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Final, Literal

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache, RedisSerializer
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.core.handlers.asgi import ASGIHandler, ASGIRequest
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from django.utils.module_loading import import_string

from pace.lib.clock import SYSTEM, Clock
from pace.lib.pagecache import (
    VERSION_KEY,
    cacheable,
    entry_guard,
    hit_response,
    is_cached_page,
    page_key,
    read_guard,
)
from pace.lib.redispack import hiredis_packed

logger = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[Mapping[str, Any]], Awaitable[None]]
# An answer from the process's memory (no I/O, no wait); None: not this answer's request;
# DJANGO: this answer's request, which Django's view must answer (no page-cache read: the
# page cache never holds it). Given Django's request after the middleware's request half.
DJANGO: Final = "django"
Answer = Callable[[HttpRequest], HttpResponse | Literal["django"] | None]

# Middleware the fast path runs itself: their process_request/process_response do no
# I/O when there is no session cookie, and they are what makes a hit's headers.
RUN = frozenset(
    {
        "django.middleware.security.SecurityMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
        "pace.lib.compression.PublicGZipMiddleware",  # compresses a public page once
    }
)
# Middleware that leaves a cached page's response as it is. One that answers a path
# itself (WhiteNoise: static files) never let that path's view store a page.
SKIP = frozenset(
    {
        "whitenoise.middleware.WhiteNoiseMiddleware",
        # Stores only messages a view added or read: a hit runs no view, and the page
        # cache refuses a request with a messages cookie.
        "django.contrib.messages.middleware.MessageMiddleware",
        "allauth.account.middleware.AccountMiddleware",  # changes only 404s under /accounts/
        "pace.lib.errorpages.MethodNotAllowedPage",  # changes only empty 405s
        # Gives back the connections of the request's thread: a hit runs in the event loop
        # and opens none.
        "pace.daphne_patches.syncchain.ReturnConnectionsMiddleware",
    }
)


# Pages whose guard the fast path remembers (about 100 bytes each).
GUARD_HINTS = 50_000
KNOWN_PATHS = 10_000  # paths remembered as cached pages or not (``cached_path``)
# A guard past its recheck time sends one request a process to Django this often, while
# the process serves the rest at the value it has (``pagecache.guard_reading``).
RECHECK_HAND_S = 1.0

# redis.asyncio connections per process for the MGETs. A start gun brings thousands of
# hits at once: past this many under way, a hit waits up to REDIS_WAIT_S for a connection
# (redis-py's default pool refused it: "Too many connections", and Django answered it).
REDIS_CONNECTIONS = 32
REDIS_WAIT_S = 5.0

# How long a thread holding the GIL may keep it while another waits (CPython's default:
# 5 ms). See ``favour_event_loop``.
SWITCH_INTERVAL_S = 0.0005


def favour_event_loop(interval: float = SWITCH_INTERVAL_S) -> None:
    """Let the event loop take the GIL back within ``interval`` of wanting it.

    A daphne process answers hits in its event loop and runs Django (a miss: a page
    rendered, 10-25 ms of CPU) in a thread. The loop gives up the GIL at each socket
    call (read a request, the Redis MGET, write the response) and, while a render
    runs, gets it back only after the render's thread has held it a whole switch
    interval: with the default 5 ms, every client of that process waited out the
    render, a stall that 1 % of misses made the 95th percentile of
    ``results-served`` (bench/README.md). At 0.5 ms the loop keeps answering during
    a render, which takes a little longer itself.
    """
    sys.setswitchinterval(interval)


class PageFastPath:
    """ASGI wrapper of Django's handler for the "http" scope type."""

    def __init__(
        self, handler: ASGIHandler, answers: Sequence[Answer] = (), clock: Clock = SYSTEM
    ) -> None:
        self.handler = handler
        self.clock = clock
        middleware = _mirrored_middleware(settings.MIDDLEWARE)
        self.store = _store(caches["default"])
        self.answers = list(answers)
        self.enabled = middleware is not None and (self.store is not None or bool(answers))
        self.middleware: list[Any] = middleware or []
        # The guard each guarded page's entry named last time (a results page's race
        # stamp key), read in the same MGET as the entry on the next request: one round
        # trip per hit instead of two. Only a hint: the entry's own guard decides.
        self.guards: dict[str, str] = {}
        # When this process last sent a request to Django to read a guard afresh.
        self.rechecks: dict[str, float] = {}
        self.paths: dict[str, bool] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = None
        if self.enabled and scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            response = await self.cached_response(scope)
        if response is None:
            await self.handler(scope, receive, send)
        else:
            await self.handler.send_response(response, send)

    async def cached_response(self, scope: Scope) -> HttpResponse | None:
        """The response Django would give ``scope`` from memory or its cache, or None."""
        request = self.prepared_request(scope)
        if request is None:
            return None
        try:
            response = self.answered(request)
            if response == DJANGO:
                return None
            if response is None:
                if not self.cached_path(request.path_info):
                    return None  # not a cached page: no cache read before Django
                key = _page_key(request)
                if key is None or self.store is None:
                    return None
                response = await self.hit(request, key)
                if response is None:
                    return None
            for middleware in reversed(self.middleware):
                if hasattr(middleware, "process_response"):
                    response = middleware.process_response(request, response)
            return response
        finally:
            _forget(request)

    def cached_path(self, path: str) -> bool:
        """Whether ``path``'s view is a cached page (``pagecache.is_cached_page``), remembered
        per path. The others (the tracker, forms, a 404) went to Redis for an entry that
        cannot exist, then to Django: under 5,000 phones that read took the tracker page
        up to 0.6 s before Django saw it (bench/pages.py, ``server_ms``)."""
        known = self.paths.get(path)
        if known is None:
            try:
                known = is_cached_page(resolve(path).func)
            except Resolver404:
                known = False
            if len(self.paths) >= KNOWN_PATHS:
                self.paths.clear()  # a crawler's walk must not grow it without bound
            self.paths[path] = known
        return known

    def answered(self, request: HttpRequest) -> HttpResponse | Literal["django"] | None:
        for answer in self.answers:
            response = answer(request)
            if response is not None:
                return response
        return None

    async def hit(self, request: HttpRequest, key: str) -> HttpResponse | None:
        """``hit_response`` for the entry under ``key``, its guard's value read with it when
        the page was seen before."""
        assert self.store is not None  # checked by cached_response
        hinted = self.guards.get(key)
        names = [VERSION_KEY, key] if hinted is None else [VERSION_KEY, key, hinted]
        version, entry, *read = await self.store.get_many(names)
        guard = entry_guard(entry) if entry is not None and entry[0] == version else None
        if guard is None:
            return hit_response(version, entry, request)
        if guard != hinted:
            if len(self.guards) >= GUARD_HINTS:
                self.guards.clear()  # a crawler's walk must not grow it without bound
            self.guards[key] = guard
            read = await self.store.get_many([guard])
        if self.rechecked(guard, read[0]):
            return None
        return hit_response(version, entry, request, read[0])

    def rechecked(self, guard: str, read: Any) -> bool:
        """Whether this request goes to Django to read ``guard`` afresh: the guard is past
        its recheck time and no request of this process went within ``RECHECK_HAND_S``."""
        recheck_at = read_guard(read)[1]
        if recheck_at is None or self.clock.time() < recheck_at:
            return False
        now = self.clock.monotonic()
        handed = self.rechecks.get(guard)
        if handed is not None and now - handed < RECHECK_HAND_S:
            return False
        if len(self.rechecks) >= GUARD_HINTS:
            self.rechecks.clear()
        self.rechecks[guard] = now
        return True

    def prepared_request(self, scope: Scope) -> HttpRequest | None:
        """Django's request after the middleware's request half, or None when Django
        must answer (a session to load, a redirect, a bad Host or query string)."""
        request: HttpRequest | None = None
        prepared = False
        try:
            request = ASGIRequest(scope, io.BytesIO())
            if settings.SESSION_COOKIE_NAME in request.COOKIES:
                return None  # loading a session may query the database
            for middleware in self.middleware:
                if hasattr(middleware, "process_request") and middleware.process_request(request):
                    return None  # a redirect (SSL, www): Django gives it
            request.GET  # noqa: B018 - parsed here: one that does not parse is Django's error
            prepared = True
            return request
        except (UnicodeDecodeError, SuspiciousOperation, PermissionDenied):
            return None  # a bad Host, query string or user agent: Django answers with its error
        finally:
            if not prepared and request is not None:
                _forget(request)  # Django answers with a request of its own

    async def aclose(self) -> None:
        if self.store is not None:
            await self.store.aclose()


def _forget(request: HttpRequest) -> None:
    """Drop what the middleware hung on a request the fast path is done with.

    The request refers to itself through them (the authentication middleware's lazy
    user is a closure over the request; the session store, the query dict): ~16 objects
    a request in a reference cycle, which only the cyclic collector frees. At thousands
    of hits a second that filled the young generation (``gctune``: 50,000) every few
    seconds, and each collection stopped the process for tens of milliseconds.
    Emptied, the request and the rest are freed by reference counting as it goes.
    """
    request.__dict__.clear()


def _page_key(request: HttpRequest) -> str | None:
    """The request's page-cache key, None when the cache may not answer it. Every
    parameter makes the key: one its page does not use gives a key nothing was stored under."""
    return page_key(request, frozenset(request.GET)) if cacheable(request) else None


def _no_view(request: HttpRequest) -> HttpResponse:
    raise AssertionError("the fast path runs no view")


def _mirrored_middleware(paths: list[str]) -> list[Any] | None:
    unknown = [path for path in paths if path not in RUN | SKIP]
    if unknown:
        logger.warning("page fast path off: it does not mirror middleware %s", unknown)
        return None
    return [import_string(path)(_no_view) for path in paths if path in RUN]


class _RedisStore:
    """Reads Django's Redis cache with redis.asyncio: one pool per process (event loop)."""

    def __init__(self, backend: RedisCache, location: str, options: dict[str, Any]) -> None:
        self.backend = backend
        self.url = re.split("[;,]", location)[0]  # the primary, where the version is bumped
        serializer = options.get("serializer") or RedisSerializer
        if isinstance(serializer, str):
            serializer = import_string(serializer)
        self.serializer = serializer() if callable(serializer) else serializer
        self.client: Any = None
        self.loop: asyncio.AbstractEventLoop | None = None

    def _client(self) -> Any:
        loop = asyncio.get_running_loop()
        if self.loop is not loop:  # redis.asyncio connections belong to one loop
            import redis.asyncio

            pool = hiredis_packed(
                redis.asyncio.BlockingConnectionPool.from_url(
                    self.url, max_connections=REDIS_CONNECTIONS, timeout=REDIS_WAIT_S
                )
            )
            self.client, self.loop = redis.asyncio.Redis.from_pool(pool), loop
        return self.client

    async def get_many(self, names: list[str]) -> list[Any]:
        import redis

        keys = [self.backend.make_key(name) for name in names]
        try:
            raw = await self._client().mget(keys)
        except redis.RedisError as exc:
            logger.warning("page fast path: Redis read failed, Django answers: %s", exc)
            return [None] * len(names)
        return [None if value is None else self.serializer.loads(value) for value in raw]

    async def aclose(self) -> None:
        if self.client is not None and self.loop is asyncio.get_running_loop():
            await self.client.aclose()
        self.client = self.loop = None


class _LocalStore:
    """The embedded default's locmem cache: this process's memory, no I/O to wait for."""

    def __init__(self, backend: LocMemCache) -> None:
        self.backend = backend

    async def get_many(self, names: list[str]) -> list[Any]:
        found = self.backend.get_many(names)
        return [found.get(name) for name in names]

    async def aclose(self) -> None:
        return None


def _store(backend: BaseCache) -> _RedisStore | _LocalStore | None:
    if isinstance(backend, RedisCache):
        config = settings.CACHES["default"]
        location = config["LOCATION"]
        if not isinstance(location, str):
            location = location[0]
        return _RedisStore(backend, location, config.get("OPTIONS", {}))
    if isinstance(backend, LocMemCache):
        return _LocalStore(backend)
    logger.warning("page fast path off: it cannot read %s", type(backend).__name__)
    return None
