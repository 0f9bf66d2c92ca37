"""The page cache for results pages: the marketplace's, keyed also by the race's results.

Marketplace pages are retired by bumping one site-wide version
(``pace.lib.pagecache``); doing that for every timing read of a live race would empty
the cache of every page several times a second. A results page's key adds the race's
results stamp (``selectors.race_stamp``: latest change, count, publication), read at
most every ``STAMP_SECONDS``, so a new read reaches the page within seconds and no
other page is touched. The site-wide version still retires results pages too (a race
renamed). An entry is stored under the marketplace's key for its URL, guarded by the
race's stamp key and the stamp it was rendered at (``pagecache.guarded_entry``), so the
ASGI fast path answers a hit before Django's handler, as it does the marketplace's
pages (about a sixth of the CPU: issue 13, bench/README.md). The stamp is kept with the
time to read it again (``pagecache.guard_reading``): past that time the fast path sends
one request a process to Django, which reads the stamp afresh, and serves the others at
the stamp it has; the stamp itself expires only ``STALE_LIMIT`` times later.
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

from events.access import EDIT_ROLES, has_role_for
from pace.lib.clock import SYSTEM, Clock
from pace.lib.pagecache import (
    VERSION_KEY,
    cacheable,
    guard_reading,
    guarded_entry,
    hit_response,
    mark_cached_page,
    page_key,
    public_version,
    read_guard,
)
from results.selectors import RacePage, race_stamp
from results.tables import RaceTable, race_table, read_race_table

STAMP_SECONDS = 5
# A stamp not read again by then (no visitor came, Django's thread was stuck) is dropped.
STALE_LIMIT = 3


def stamp_key(event_slug: str, race_slug: str) -> str:
    """The cache key of a race's stamp: hashed, since slugs in a URL can be any length."""
    digest = hashlib.sha256(f"{event_slug}/{race_slug}".encode()).hexdigest()[:32]
    return f"results-stamp:{digest}"


def _stamp(event_slug: str, race_slug: str, clock: Clock = SYSTEM) -> str | None:
    """The race's results stamp, read from the database when the cached one is due (or
    None: no such public race, and the cached one is dropped)."""
    key = stamp_key(event_slug, race_slug)
    stamp, recheck_at = read_guard(cache.get(key))
    now = clock.time()
    if stamp is None or recheck_at is None or now >= recheck_at:
        stamp = race_stamp(event_slug=event_slug, race_slug=race_slug)
        if stamp is None:
            cache.delete(key)
        else:
            reading = guard_reading(stamp, recheck_at=now + STAMP_SECONDS)
            cache.set(key, reading, STALE_LIMIT * STAMP_SECONDS)
    return stamp if isinstance(stamp, str) else None


def race_table_for(request: HttpRequest, page: RacePage) -> RaceTable:
    """The race's table a visitor's page is built from: kept per stamp and page version
    (``results.tables``) for everyone but the race's organizers, who read it afresh."""
    race, event = page.race, page.event
    if not has_role_for(request.user, event, EDIT_ROLES):
        stamp = _stamp(event.slug, race.slug)
        if stamp is not None:
            version = cache.get(VERSION_KEY)
            return race_table(race_id=race.pk, stamp=stamp, version=version, live=page.live)
    return read_race_table(race.pk, live=page.live)


def cached_results_page(
    *, params: frozenset[str] = frozenset()
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Serve anonymous GETs of a race's results pages from the cache (``params`` as
    ``cached_public_page``'s); the view takes ``event_slug`` and ``race_slug``."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            key = page_key(request, params) if cacheable(request) else None
            event_slug, race_slug = kwargs["event_slug"], kwargs["race_slug"]
            stamp = _stamp(event_slug, race_slug) if key else None
            if key is None or stamp is None:
                return view(request, *args, **kwargs)
            found = cache.get_many([VERSION_KEY, key])
            hit = hit_response(found.get(VERSION_KEY), found.get(key), request, stamp)
            if hit is not None:
                return hit
            version = found.get(VERSION_KEY) or public_version()
            response = view(request, *args, **kwargs)
            if response.status_code == 200 and not response.streaming:
                guard = stamp_key(event_slug, race_slug)
                entry = guarded_entry(
                    version, response, max_age=STAMP_SECONDS, guard=guard, guard_value=stamp
                )
                cache.set(key, entry, settings.PAGE_CACHE_SECONDS)
                patch_cache_control(response, public=True, max_age=STAMP_SECONDS)
            return response

        return mark_cached_page(wrapper)

    return decorate
