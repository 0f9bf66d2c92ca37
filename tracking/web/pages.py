"""Live tracking's pages: the spectator page of a race and the athlete's tracker page.

Thin: the spectator page renders a shell that ``static/tracking/live.js`` fills from
``/ws/live/RACE_ID/``; the tracker page shows tokens and links devices through
``tracking.ingest.trackers``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from events.models import Registration
from pace.lib.pagecache import cached_public_page
from pace.lib.ratelimits import Limited, hit, request_ip, too_many_requests
from tracking.ingest.trackers import (
    TAKEN,
    TrackedEntry,
    TrackerError,
    entry_for_token,
    trackable_entries,
    tracker_issue_device_id,
    tracker_link_device,
    tracker_rotate_token,
)
from tracking.live.window import tracking_window
from tracking.models import Tracker
from tracking.selectors import race_info
from tracking.web.athletedata import athlete_race, race_categories
from tracking.web.family import watch_course_url, watched_race_or_404
from tracking.web.links import after_race_links
from tracking.web.livefield import (
    FIELD_SECONDS,
    ROSTER_SECONDS,
    document_response,
    field_document,
    roster_document,
    watched_race_id,
)
from tracking.web.tracker_app import device_status, qr_svg, shown_secrets


@cached_public_page(per_visitor="tracking.fanout.spectators.spectator_cookie_give")
def live(request: HttpRequest, event_slug: str, race_slug: str) -> HttpResponse:
    """``/live/EVENT/RACE/``: the map, the leaderboard and the posts of a race, live.

    Cached for anonymous visitors: thousands arrive at the start gun. Each browser
    gets its signed spectator id (``tracking.fanout.spectators``) after the cache: its kudos
    are counted under it.
    """
    race = watched_race_or_404(request, event_slug, race_slug)
    family = request.GET.get("family", "")
    # A family link's holder: its socket shows the token (PROTOCOL.md §3), its fetches too.
    holder = "&" + urlencode({"token": family}) if family else ""
    holder_query = "?" + urlencode({"family": family}) if family else ""
    config = {
        **race_info(race),
        "event": race.event.name,
        "race": race.name,
        # The snapshot holds the page's focus only; the whole field comes compressed over
        # HTTP, fetched at the same time (tracking.web.livefield).
        "ws": f"/ws/live/{race.pk}/?field=later{holder}",
        "field_url": reverse("tracking:live_field", args=[event_slug, race_slug]) + holder_query,
        # Field frames carry ids only: the page names them from the roster, and filters
        # by category and sex: [id, bib, name, category, sex]. Not in the page: a big
        # race's is 48 KB gzipped, and nothing live needs it first.
        "roster_url": reverse("tracking:live_roster", args=[event_slug, race_slug]) + holder_query,
        "timezone": race.event.timezone,
        "time_limit": race.time_limit.total_seconds() if race.time_limit else None,
        "categories": race_categories(race=race),
        "athlete_url": reverse("tracking:live_athlete", args=[event_slug, race_slug, 0]),
        # The athlete panel's charts: loaded when a panel first opens, not with the page.
        "uplot": [static("vendor/uplot/uPlot.iife.min.js"), static("vendor/uplot/uPlot.min.css")],
        # The map's script, fetched once the board is live (not on the page's critical path).
        "leaflet": [static("vendor/leaflet/leaflet.js"), static("vendor/leaflet/leaflet.css")],
        "tiles": {"url": settings.MAP_TILE_URL, "attribution": settings.MAP_TILE_ATTRIBUTION},
        # Past this the race is over (its tracking window closed): the page says so and
        # points to what there is after it (results, the replay), its clock stopped.
        "closes": tracking_window(start=race.start_time, time_limit=race.time_limit)[1],
        "after": after_race_links(race=race),
    }
    if family:
        config["course_url"] = watch_course_url(race=race, family=family)
    context = {"race": race, "event": race.event, "config": config}
    return render(request, "tracking/live.html", context)


@require_http_methods(["GET"])
def live_athlete(
    request: HttpRequest, event_slug: str, race_slug: str, athlete_id: int
) -> HttpResponse:
    """``/live/EVENT/RACE/athlete/ID.json``: the athlete panel's charts, splits and posts
    (``tracking.web.athletedata``), cached briefly for everyone, limited per IP."""
    limited = hit(name="live.athlete.ip", key=request_ip(request))
    if limited:
        return too_many_requests(limited)
    race = watched_race_or_404(request, event_slug, race_slug)
    registration = Registration.objects.filter(
        pk=athlete_id, race_id=race.pk, status=Registration.Status.CONFIRMED
    ).first()
    if registration is None:
        return JsonResponse({"error": "No such athlete in this race."}, status=404)
    response = JsonResponse(athlete_race(race=race, registration=registration))
    response["Cache-Control"] = (
        "public, max-age=10" if race.event.is_public else "private, max-age=10"
    )
    return response


@require_GET
def live_field(request: HttpRequest, event_slug: str, race_slug: str) -> HttpResponse:
    """``/live/EVENT/RACE/field.json``: every athlete's compact entry at the latest tick
    (``tracking.web.livefield``), shared for FIELD_SECONDS, limited per IP."""
    limited = hit(name="live.field.ip", key=request_ip(request))
    if limited:
        return too_many_requests(limited)
    race_id, public = watched_race_id(request, event_slug, race_slug)
    document = field_document(race_id=race_id)
    return document_response(request, document, public=public, seconds=FIELD_SECONDS)


@require_GET
def live_roster(request: HttpRequest, event_slug: str, race_slug: str) -> HttpResponse:
    """``/live/EVENT/RACE/roster.json``: who the race's athletes are (names, bibs,
    categories, sex), shared for ROSTER_SECONDS, limited per IP with ``field.json``."""
    limited = hit(name="live.field.ip", key=request_ip(request))
    if limited:
        return too_many_requests(limited)
    race_id, public = watched_race_id(request, event_slug, race_slug)
    document = roster_document(race_id=race_id)
    return document_response(request, document, public=public, seconds=ROSTER_SECONDS)


def _entries(request: HttpRequest, token: str) -> list[TrackedEntry] | None:
    if token:
        entry = entry_for_token(token=token)
        return [entry] if entry else None
    assert request.user.is_authenticated  # track() sends anonymous visitors to log in
    return trackable_entries(user=request.user)


def _back(token: str) -> HttpResponse:
    url = reverse("tracking:track")
    return redirect(f"{url}?{urlencode({'token': token})}" if token else url)


def _link(request: HttpRequest, tracker: Tracker) -> Limited | TrackerError | None:
    """Link the POSTed device id; why not, if refused. "Already linked" says an id exists,
    so failing that way is limited per account (per entry for a token holder)."""
    user = request.user
    key = f"user:{user.pk}" if user.is_authenticated else f"tracker:{tracker.pk}"
    limited = hit(name="tracker.link", key=key, increment=False)
    if limited:
        return limited
    try:
        tracker_link_device(tracker=tracker, device_id=request.POST.get("device_id", ""))
    except TrackerError as exc:
        if str(exc) == TAKEN:
            return hit(name="tracker.link", key=key) or exc
        return exc
    return None


def _change(request: HttpRequest, entry: TrackedEntry, token: str) -> HttpResponse | str | Limited:
    """Apply a POSTed change; a redirect when done, the error message (or limit) otherwise."""
    tracker = entry.tracker
    action = request.POST.get("action")
    if action == "device":
        refused = _link(request, tracker)
        if refused is not None:
            return refused if isinstance(refused, Limited) else str(refused)
        linked = tracker.device_id
        messages.success(request, f"Device {linked} linked." if linked else "Device unlinked.")
        return _back(token)
    if action == "issue":
        tracker_issue_device_id(tracker=tracker)
        messages.success(
            request, f"New device identifier {tracker.device_id}: enter it in your app."
        )
        return _back(token)
    if action == "rotate":
        tracker_rotate_token(tracker=tracker)
        messages.success(request, "A new token was issued; the old one no longer works.")
        return _back(tracker.token if token else "")
    return "Unknown action."


def _too_many_links(limited: Limited) -> str:
    minutes = -(-limited.retry_after // 60)
    return (
        "Too many identifiers that other entries use were tried: try again in "
        f"{minutes} minute{'s' if minutes != 1 else ''}, or use the one Pace issued."
    )


@require_http_methods(["GET", "POST"])
def track(request: HttpRequest) -> HttpResponse:
    """``/track/``: an athlete's tokens, linked devices and the phone tracker."""
    token = request.GET.get("token") or request.POST.get("token") or ""
    if not token and not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    entries = _entries(request, token)
    if entries is None:
        context: dict[str, Any] = {"invalid_token": True}
        return render(request, "tracking/track.html", context, status=404)
    errors: dict[int, str] = {}
    limited: Limited | None = None
    if request.method == "POST":
        wanted = request.POST.get("registration", "")
        entry = next((e for e in entries if str(e.registration.pk) == wanted), None)
        if entry is None:  # not one of yours (or not trackable any more)
            raise Http404("No such entry")
        outcome = _change(request, entry, token)
        if isinstance(outcome, HttpResponse):
            return outcome
        if isinstance(outcome, Limited):
            limited, outcome = outcome, _too_many_links(outcome)
        errors[entry.registration.pk] = outcome
    posted = request.POST.get("device_id", "")
    osmand_url = settings.SITE_URL + reverse("tracking:osmand")
    rows = []
    for e in entries:
        shown = shown_secrets(tracker=e.tracker)
        device_id = shown.device_id
        rows.append(
            {
                "entry": e,
                # A token-link holder's token is the one in the address (found by it).
                "token": token or shown.token or "",
                "device_id": device_id,
                "token_lost": shown.token_lost and not token,
                "device_lost": shown.device_lost,
                "error": errors.get(e.registration.pk),
                "device_value": posted if e.registration.pk in errors else device_id,
                "device_status": device_status(tracker=e.tracker),
                "qr_device": qr_svg(device_id) if device_id else "",
            }
        )
    context = {
        "rows": rows,
        "token": token,
        "osmand_url": osmand_url,
        "qr_url": qr_svg(osmand_url),
        # The installed app opens on this page: with the token it was installed from.
        "manifest_token": rows[0]["token"] if len(rows) == 1 else token,
    }
    response = render(request, "tracking/track.html", context, status=429 if limited else 200)
    if limited:
        response["Retry-After"] = str(limited.retry_after)
    return response
