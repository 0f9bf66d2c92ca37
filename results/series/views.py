"""The public standings page of a series: ``/results/series/SLUG/``."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from results.series.selectors import series_page


def standings(request: HttpRequest, slug: str) -> HttpResponse:
    page = series_page(slug=slug, user=request.user, scope=request.GET.get("scope", ""))
    return render(request, "results/series.html", {"page": page})
