"""The public standings page of a series: ``/series/SLUG/``.

Served from the marketplace's page cache: recomputed standings show within
``PAGE_CACHE_SECONDS``.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from pace.lib.pagecache import cached_public_page
from results.series.selectors import series_page


@cached_public_page(params=frozenset({"scope", "page"}))
def standings(request: HttpRequest, slug: str) -> HttpResponse:
    scope, number = request.GET.get("scope", ""), request.GET.get("page", "1")
    page = series_page(slug=slug, user=request.user, scope=scope, page=number)
    return render(request, "results/series.html", {"page": page})
