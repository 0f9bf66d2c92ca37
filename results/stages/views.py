"""A stage race's classifications: ``/results/EVENT/classification/``."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from results.stages.selectors import stage_race_page


def classifications(request: HttpRequest, event_slug: str) -> HttpResponse:
    after = request.GET.get("after", "")
    page = stage_race_page(
        event_slug=event_slug, user=request.user, after=int(after) if after.isdigit() else None
    )
    return render(request, "results/stage_race.html", {"page": page})
