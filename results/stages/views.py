"""A stage race's classifications: ``/stage-races/EVENT/``.

Computed when read, and served from the marketplace's page cache: a stage's new
results show within ``PAGE_CACHE_SECONDS``.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from pace.lib.pagecache import cached_public_page
from results.stages.selectors import stage_race_page


@cached_public_page(params=frozenset({"after"}))
def classifications(request: HttpRequest, event_slug: str) -> HttpResponse:
    after = _stage_number(request.GET.get("after", ""))
    page = stage_race_page(event_slug=event_slug, user=request.user, after=after)
    return render(request, "results/stage_race.html", {"page": page})


def _stage_number(value: str) -> int | None:
    """``?after=``'s stage, or None (the latest) for anything but a stage's number."""
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 4 else None
