"""``/live/EVENT/RACE/replay/``: a race replayed from its stored positions.

The page is a shell (``static/tracking/replay.js``) that loads the race's replay from
``…/replay/data/`` once: every athlete's downsampled track (``tracking.web.replaydata``),
gzipped, with an ETag, so a second visit costs a 304. Who may watch the live page may
watch its replay (a family link's token too, as ``?family=``). A big race's replay is
built off the request: until it is stored the data answers 202 with how far the build
is (``{"status": "preparing", "done": N, "of": M}``), which the page shows and polls.
"""

from __future__ import annotations

import gzip
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.views.decorators.http import require_GET

from events.models import Event
from tracking.selectors import race_info
from tracking.web.family import watch_course_url, watched_race_or_404
from tracking.web.replaydata import Preparing, race_replay, replay_gz

# A browser or proxy may keep a build this long before asking again (an ETag then).
MAX_AGE = 30
POLL_SECONDS = 2  # Retry-After of a replay being prepared


def _preparing(progress: Preparing) -> JsonResponse:
    body = {"status": "preparing", "done": progress.done, "of": progress.of}
    response = JsonResponse(body, status=202)
    response["Retry-After"] = str(POLL_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def replay(request: HttpRequest, event_slug: str, race_slug: str) -> HttpResponse:
    """The replay's page: the map, the time slider and the board."""
    race = watched_race_or_404(request, event_slug, race_slug)
    family = request.GET.get("family", "")
    data = reverse("tracking:replay_data", args=[event_slug, race_slug])
    config = {
        **race_info(race),
        "event": race.event.name,
        "race": race.name,
        "data": f"{data}?{urlencode({'family': family})}" if family else data,
        "course_url": watch_course_url(race=race, family=family),
        "timezone": race.event.timezone,
        "tiles": {"url": settings.MAP_TILE_URL, "attribution": settings.MAP_TILE_ATTRIBUTION},
    }
    context = {"race": race, "event": race.event, "config": config}
    return render(request, "tracking/replay.html", context)


@require_GET
def replay_data(request: HttpRequest, event_slug: str, race_slug: str) -> HttpResponseBase:
    """The race's replay as gzipped JSON (``tracking.web.trackcodec`` says its shape)."""
    race = watched_race_or_404(request, event_slug, race_slug)
    found = race_replay(race=race)
    if isinstance(found, Preparing):
        return _preparing(found)
    public = race.event.status == Event.Status.PUBLISHED
    if found.etag in request.headers.get("If-None-Match", ""):
        response: HttpResponseBase = HttpResponse(status=304)
        built = found
    else:
        with_bytes = replay_gz(race=race, replay=found)
        if isinstance(with_bytes, Preparing):
            return _preparing(with_bytes)
        built = with_bytes
        if "gzip" in request.headers.get("Accept-Encoding", ""):
            response = HttpResponse(built.gz, content_type="application/json")
            response["Content-Encoding"] = "gzip"
        else:
            response = HttpResponse(gzip.decompress(built.gz), content_type="application/json")
    response["ETag"] = built.etag
    patch_vary_headers(response, ["Accept-Encoding"])
    if public:
        patch_cache_control(response, public=True, max_age=MAX_AGE)
    else:
        patch_cache_control(response, private=True, max_age=MAX_AGE)
    return response
