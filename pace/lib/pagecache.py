"""Whole-page cache for anonymous visitors of public pages.

Public pages are read far more than they change, so an anonymous GET is served
from the cache. Any change to what those pages show bumps one version number
(``bump_public_version``), which retires every cached page at once; the TTL
bounds staleness for changes made behind Django's back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control

VERSION_KEY = "public-pages:version"


def public_version() -> int:
    version = cache.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, 1, timeout=None)
        version = cache.get(VERSION_KEY, 1)
    return int(version)


def bump_public_version(**_: Any) -> None:
    """Retire every cached public page (signature fits a signal receiver)."""
    try:
        cache.incr(VERSION_KEY)
    except ValueError:
        cache.set(VERSION_KEY, 2, timeout=None)


def _cacheable(request: HttpRequest) -> bool:
    return (
        request.method in ("GET", "HEAD")
        and settings.PAGE_CACHE_SECONDS > 0
        and "messages" not in request.COOKIES
        and not request.user.is_authenticated
    )


def cached_public_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Serve anonymous GETs of a public page from the cache."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not _cacheable(request):
            return view(request, *args, **kwargs)
        digest = hashlib.sha256(request.get_full_path().encode()).hexdigest()
        key = f"public-page:{public_version()}:{digest}"
        hit = cache.get(key)
        if hit is not None:
            content, content_type = hit
            response = HttpResponse(content, content_type=content_type)
        else:
            response = view(request, *args, **kwargs)
            if hasattr(response, "render"):
                response.render()
            if response.status_code == 200 and not response.streaming:
                entry = (response.content, response["Content-Type"])
                cache.set(key, entry, settings.PAGE_CACHE_SECONDS)
        if response.status_code == 200:
            patch_cache_control(response, public=True, max_age=settings.PAGE_CACHE_SECONDS)
        return response

    return wrapper
