"""Whole-page cache for anonymous visitors of public pages.

Public pages are read far more than they change, so an anonymous GET is served
from the cache. Any change to what those pages show bumps one version number
(``bump_public_version``), which retires every cached page at once; the TTL
bounds staleness for changes made behind Django's back.

An entry keeps the page gzipped (``pace.lib.compression.public_gzip``), compressed once
when it is stored: every browser asks for gzip, and a hit then moves a fifth of the
bytes out of Redis and onto the socket (a race's results page: 67 KB, 9 KB gzipped; a
5,000-athlete live page 180 KB, 37 KB). A client that does not take gzip gets the page
decompressed.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import threading
import time
from collections.abc import Callable
from functools import wraps
from typing import Any, overload

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.http import urlencode
from django.utils.module_loading import import_string

from pace.lib.compression import accepts_gzip, mark_public, public_gzip

VERSION_KEY = "public-pages:version"


class SharedRedisPool:
    """``pool_class`` for Django's RedisCache: one redis-py pool per process and URL.

    Django keeps cache backends in a context-local: under ASGI every request gets a
    new ``RedisCache``, hence a new pool and a new TCP connection (with its
    handshake) to Redis, several milliseconds of CPU per request
    (https://github.com/django/django/pull/18459). Handing out one pool per process
    keeps connections open across requests; redis-py's pool is thread-safe and
    starts afresh in a forked child.
    """

    _pools: dict[tuple[str, str], Any] = {}
    _lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, **options: Any) -> Any:
        import redis

        key = (url, repr(sorted(options.items())))
        with cls._lock:
            pool = cls._pools.get(key)
            if pool is None:
                pool = cls._pools[key] = redis.ConnectionPool.from_url(url, **options)
        return pool


def _fresh_version() -> int:
    # Time-based, so a version key lost to eviction or a restart never comes back as a
    # number that old cached pages still carry.
    return time.time_ns() // 1000


def public_version() -> int:
    version = cache.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, _fresh_version(), timeout=None)
        version = cache.get(VERSION_KEY) or _fresh_version()
    return int(version)


def bump_public_version(**_: Any) -> None:
    """Retire every cached public page (signature fits a signal receiver)."""
    try:
        cache.incr(VERSION_KEY)
    except ValueError:
        cache.set(VERSION_KEY, _fresh_version(), timeout=None)


def cacheable(request: HttpRequest) -> bool:
    """Whether the page cache may answer this request (an anonymous GET without messages)."""
    return (
        request.method in ("GET", "HEAD")
        and settings.PAGE_CACHE_SECONDS > 0
        and "messages" not in request.COOKIES
        and not request.user.is_authenticated
    )


# Query parameters only a page's script reads, and the path under which they are
# (``/live/E/R/?athlete=BIB``, a share link, is the live page focused by live.js): never
# part of a cache key there, so every such link is the one cached page. A cached page's
# view under that path must not read them; the fast path drops them too, through
# ``page_key``. Elsewhere the name is a page's own parameter (the embed widget's
# ``?athlete=BIB`` is rendered by its view) and makes the key like any other.
CLIENT_ONLY_PARAMS: dict[str, str] = {"athlete": "/live/"}


def client_only_params(path: str) -> frozenset[str]:
    """The parameters under ``path`` that only its page's script reads."""
    return frozenset(name for name, prefix in CLIENT_ONLY_PARAMS.items() if path.startswith(prefix))


CACHED_PAGE = "pace_cached_page"


def mark_cached_page(view: View) -> View:
    """Mark a view whose anonymous GETs may be in the page cache. The fast path reads the
    cache only for those: any other page (the tracker, a form) goes straight to Django
    instead of paying a Redis round trip first for an entry that cannot exist."""
    setattr(view, CACHED_PAGE, True)
    return view


def is_cached_page(view: Callable[..., Any]) -> bool:
    """Whether ``view`` (or the view it wraps: ``functools.wraps`` copies the mark) is one."""
    return bool(getattr(view, CACHED_PAGE, False))


def page_key(request: HttpRequest, params: frozenset[str]) -> str | None:
    """The cache key of a request, or None when it has a parameter the page does not use.

    Unknown parameters (``?x=1``, ``?x=2``...) would each make a new entry: anyone could
    fill the cache. So would a known one given twice (``?athlete=x&athlete=12``): the page
    reads one value, and junk beside a real one made an entry each; such a request is
    answered by the view, uncached. Known ones are put in a canonical order, so equal
    pages share one. ``client_only_params`` are left out of the key.
    """
    names = set(request.GET) - client_only_params(request.path)
    if not names <= params or any(len(request.GET.getlist(k)) > 1 for k in names):
        return None
    query = urlencode(sorted((k, request.GET[k]) for k in names))
    digest = hashlib.sha256(f"{request.path}?{query}".encode()).hexdigest()
    return f"public-page:{digest}"


@functools.cache
def _per_visitor(path: str) -> Callable[[HttpRequest, HttpResponse], None]:
    return import_string(path)  # type: ignore[no-any-return]


def visitor_finish(request: HttpRequest, response: HttpResponse, per_visitor: str | None) -> None:
    """Run a page's ``per_visitor`` (a dotted path) on one visitor's response."""
    if per_visitor:
        _per_visitor(per_visitor)(request, response)


def entry_guard(entry: Any) -> str | None:
    """The cache key whose value an entry also depends on, or None (the version alone).

    A page that changes more often than the site-wide version (a live race's results)
    is stored with a guard: the key of a value that changes with it (the race's results
    stamp) and the value it was rendered at. Whoever reads the entry reads that key too
    and passes its value to ``hit_response``; the fast path can then answer such pages
    without knowing what the guard means.
    """
    return entry[5] if entry is not None and len(entry) > 5 else None


def guard_reading(value: Any, *, recheck_at: float) -> tuple[Any, float]:
    """What a guard key holds: its value and when (wall clock) to read that value afresh.

    Until ``recheck_at`` hits are served at ``value``. Past it, the page fast path sends
    one request a process to Django, whose view reads the value afresh and stores it
    again, and meanwhile serves everyone else at the value it has, until the key expires:
    when the key simply expired, every request of every page it guards went to Django's
    one thread until one of them had stored it again (tens of requests queued, the
    99th percentile of the results pages several times the others')."""
    return (value, recheck_at)


def read_guard(read: Any) -> tuple[Any, float | None]:
    """``(value, recheck_at)`` of what was read for a guard key (``recheck_at`` None:
    a plain value, served until it expires)."""
    if isinstance(read, tuple) and len(read) == 2:
        return read[0], read[1]
    return read, None


def guarded_entry(
    version: Any, response: HttpResponse, *, max_age: int, guard: str, guard_value: Any
) -> tuple[Any, ...]:
    """A page-cache entry valid while the version and ``guard``'s value stay as they are,
    sent with ``max_age`` (what a browser may keep it: the guard's lifetime)."""
    return page_entry(version, response, max_age=max_age, guard=guard, guard_value=guard_value)


def page_entry(
    version: Any,
    response: HttpResponse,
    *,
    per_visitor: str | None = None,
    max_age: int | None = None,
    guard: str | None = None,
    guard_value: Any = None,
) -> tuple[Any, ...]:
    """What the cache keeps of a page: (version, body, content type, per_visitor, max_age,
    guard, guard's value, body's encoding). A plain tuple: read thousands of times a
    second, unpickled with no class to look up."""
    body, encoding = response.content, ""
    if len(body) >= 200:
        compressed = public_gzip(body)
        if len(compressed) < len(body):
            body, encoding = compressed, "gzip"
    return (version, body, response["Content-Type"], per_visitor, max_age, guard, guard_value,
            encoding)  # fmt: skip


def hit_response(
    version: Any, entry: Any, request: HttpRequest, guard_read: Any = None
) -> HttpResponse | None:
    """The cached page as a response, or None unless ``entry`` was stored at ``version``
    (and, for a guarded entry, ``guard_read``, what was read for ``entry_guard``, holds
    the value it was stored at).

    ``version`` and ``entry`` are the values read for ``VERSION_KEY`` and the page's key.
    Shared by the view wrappers and ``pace.daphne_patches.fastpath``, so a hit is the same
    response whichever serves it, the page's ``per_visitor`` (named in the entry) included.
    """
    if version is None or entry is None or entry[0] != version:
        return None
    if entry_guard(entry) is not None:
        value = read_guard(guard_read)[0]
        if value is None or entry[6] != value:
            return None
    content, content_type = entry[1], entry[2]
    encoding = entry[7] if len(entry) > 7 else ""
    if encoding == "gzip" and accepts_gzip(request):
        response = HttpResponse(content, content_type=content_type)
        patch_vary_headers(response, ("Accept-Encoding",))
        response.headers["Content-Encoding"] = "gzip"
    else:
        if encoding == "gzip":
            content = gzip.decompress(content)
        response = HttpResponse(content, content_type=content_type)
    mark_public(response)
    max_age = entry[4] if len(entry) > 4 else None
    patch_cache_control(
        response, public=True, max_age=settings.PAGE_CACHE_SECONDS if max_age is None else max_age
    )
    visitor_finish(request, response, entry[3] if len(entry) > 3 else None)
    return response


View = Callable[..., HttpResponse]


@overload
def cached_public_page(
    view: View, *, params: frozenset[str] = ..., per_visitor: str | None = ...
) -> View: ...
@overload
def cached_public_page(
    view: None = None, *, params: frozenset[str] = ..., per_visitor: str | None = ...
) -> Callable[[View], View]: ...
def cached_public_page(
    view: View | None = None,
    *,
    params: frozenset[str] = frozenset(),
    per_visitor: str | None = None,
) -> View | Callable[[View], View]:
    """Serve anonymous GETs of a public page from the cache.

    ``params`` names the query parameters the page varies by. An entry carries the
    version it was rendered at; one round trip (MGET) reads the current version and
    the entry, and an entry of another version is a miss.

    ``per_visitor`` is the dotted path of a function ``(request, response)`` run on
    every response of the page after the cache (hit, miss or not cacheable): what a
    page gives each visitor (a cookie) cannot be in the entry all visitors share. The
    entry names it, so the fast path, which runs no view, runs it too.
    """
    if view is None:
        return lambda v: cached_public_page(v, params=params, per_visitor=per_visitor)

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if params & client_only_params(request.path):
            raise ImproperlyConfigured(f"{request.path}: {sorted(params)} include script-only ones")
        key = page_key(request, params) if cacheable(request) else None
        if key is None:
            response = view(request, *args, **kwargs)
            visitor_finish(request, response, per_visitor)
            return response
        found = cache.get_many([VERSION_KEY, key])
        hit = hit_response(found.get(VERSION_KEY), found.get(key), request)
        if hit is not None:
            return hit
        version = found.get(VERSION_KEY)
        if version is None:
            version = public_version()
        response = view(request, *args, **kwargs)
        if hasattr(response, "render"):
            response.render()
        if response.status_code == 200:
            if not response.streaming:
                entry = page_entry(version, response, per_visitor=per_visitor)
                cache.set(key, entry, settings.PAGE_CACHE_SECONDS)
                mark_public(response)
            patch_cache_control(response, public=True, max_age=settings.PAGE_CACHE_SECONDS)
        visitor_finish(request, response, per_visitor)
        return response

    return mark_cached_page(wrapper)
