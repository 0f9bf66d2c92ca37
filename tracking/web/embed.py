"""``/embed/EVENT/RACE/``: the live race as a small widget organizers put on their own site.

The only page any site may frame: it answers with ``Content-Security-Policy:
frame-ancestors *`` and without ``X-Frame-Options`` (every other page keeps DENY). It is
page-cached like the live page (an organizer's home page may bring many visitors at
once); the cache entry names ``frameable``, which every answer runs, hit or miss,
whoever serves it (the fast path answers hits with the site's middleware, DENY
included, unless the response is exempt).
Only public races embed: a frame on another site carries no cookie of ours
(``SameSite=Lax``), so nobody's session could open a private race there anyway, and
the widget's socket is the public one, ``/ws/live/RACE_ID/``.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from events.models import Race, Registration
from pace.lib.pagecache import cached_public_page
from tracking.live.window import tracking_window
from tracking.selectors import live_page_race, race_info

TOP = 5  # athletes on the widget's board


def embed_snippet(race: Race) -> tuple[str, str]:
    """The ``<iframe>`` an organizer copies into their own site (the race's admin page)."""
    url = settings.SITE_URL + reverse("tracking:embed", args=[race.event.slug, race.slug])
    title = f"{race.event.name} {race.name} live".replace('"', "")
    code = (
        f'<iframe src="{url}" title="{title}" width="100%" height="480" '
        'style="border:0;max-width:720px" loading="lazy"></iframe>'
    )
    return "Live tracking widget (add ?athlete=BIB to the address for one athlete)", code


def frameable(request: HttpRequest, response: HttpResponse) -> None:
    """Any site may frame the widget: no X-Frame-Options (the middleware skips an exempt
    response), and the CSP that says so. The page's ``per_visitor``."""
    response.xframe_options_exempt = True
    response["Content-Security-Policy"] = "frame-ancestors *"


@require_GET
@cached_public_page(params=frozenset({"athlete"}), per_visitor="tracking.web.embed.frameable")
def embed(request: HttpRequest, event_slug: str, race_slug: str) -> HttpResponse:
    """The widget: the map and the top of the board, or one athlete (``?athlete=BIB``)."""
    race = live_page_race(event_slug=event_slug, race_slug=race_slug, user=AnonymousUser())
    if race is None:
        raise Http404("No such race")
    bib = request.GET.get("athlete", "")[:20]
    athlete = None
    if bib:
        athlete = (
            Registration.objects.filter(race=race, bib=bib, status=Registration.Status.CONFIRMED)
            .values("pk", "bib", "first_name", "last_name")
            .first()
        )
        if athlete is None:
            raise Http404("No athlete with that bib in this race")
    live = reverse("tracking:live", args=[race.event.slug, race.slug])
    config = {
        **race_info(race),
        "ws": f"/ws/live/{race.pk}/",
        "top": TOP,
        "athlete": athlete["pk"] if athlete else None,
        "tiles": {"url": settings.MAP_TILE_URL, "attribution": settings.MAP_TILE_ATTRIBUTION},
        # As the live page: past this the widget says the race is over, not "Live".
        "closes": tracking_window(start=race.start_time, time_limit=race.time_limit)[1],
    }
    context = {
        "race": race,
        "event": race.event,
        "config": config,
        "athlete": athlete,
        "open_url": settings.SITE_URL
        + live
        + (f"?{urlencode({'athlete': athlete['bib']})}" if athlete else ""),
    }
    return render(request, "tracking/embed.html", context)
