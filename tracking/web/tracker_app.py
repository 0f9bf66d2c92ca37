"""The tracker page as an installable app: its service worker, its manifest, the QR
codes of the tracker-app settings and the "first fix arrived" check.

The service worker is served from ``/track/sw.js`` (not ``/static/``) so that its scope
is ``/track/``: it keeps the page and its assets so that ``/track/`` opens with no
signal. Its list of assets names the static files' (hashed, in production) URLs, and
so changes, and updates the worker, with every deploy that changes one of them.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import segno
from django.conf import settings
from django.contrib.staticfiles import finders
from django.db.models import Count, Max, Min
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.http import require_GET

from pace.lib import sealing
from pace.lib.ratelimits import hit, request_ip, too_many_requests
from tracking.ingest.athletes import device_key, is_plausible_key
from tracking.models import Position, Tracker, secret_digest

# What the tracker page needs to open offline, besides the page itself.
ASSETS = [
    "css/pace.css",
    "tracking/tracking.css",
    "tracking/track.css",
    "tracking/common.js",
    "tracking/track.js",
    "img/favicon.svg",
    "tracking/icons/icon-192.png",
]


def asset_urls() -> list[str]:
    return [static(name) for name in ASSETS]


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """``/track/sw.js``: the tracker's service worker, scoped to ``/track/``."""
    urls = asset_urls()
    stamp = "\n".join(urls)
    if settings.DEBUG:  # unhashed names: the files' contents change the worker instead
        for name in ASSETS:
            found = finders.find(name)
            if isinstance(found, str):
                stamp += f"\n{Path(found).stat().st_mtime_ns}"
    version = hashlib.sha256(stamp.encode()).hexdigest()[:12]
    body = render_to_string(
        "tracking/track_sw.js",
        {"assets_json": json.dumps(urls), "version": version, "scope": reverse("tracking:track")},
    )
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    # Browsers check for a new worker at most daily anyway; never serve a stale one.
    response["Cache-Control"] = "no-cache"
    response["Service-Worker-Allowed"] = reverse("tracking:track")
    return response


@require_GET
def signed_out(request: HttpRequest) -> HttpResponse:
    """``/track/signed-out/``: where a logout lands (``ACCOUNT_LOGOUT_REDIRECT_URL``). The
    tracker keeps its page (the entries' tokens in it) in the service worker's cache and
    the tokens' pending fixes in IndexedDB, so that it opens with no signal: after a
    logout neither may stay on the phone for the next person to open offline. This page
    deletes both (``static/tracking/track_forget.js``), then goes to the home page."""
    response = render(request, "tracking/track_signed_out.html", {"next": "/"})
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def manifest(request: HttpRequest) -> HttpResponse:
    """``/track/manifest.webmanifest``: installs the tracker; opened from the home screen,
    it starts on the tracker page of the token it was installed from."""
    scope = reverse("tracking:track")
    token = request.GET.get("token", "")
    start = scope
    if is_plausible_key(token, max_length=64) and token.replace("-", "").replace("_", "").isalnum():
        start = f"{scope}?token={token}"
    data: dict[str, Any] = {
        "name": "Pace live tracker",
        "short_name": "Pace tracker",
        "description": "Share your position with spectators while you race.",
        "start_url": start,
        "scope": scope,
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#f7f8fb",
        "theme_color": "#e4572e",
        "icons": [
            {"src": static("tracking/icons/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static("tracking/icons/icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {
                "src": static("tracking/icons/maskable-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
    }
    response = JsonResponse(data, content_type="application/manifest+json")
    response["Cache-Control"] = "no-cache"
    return response


@functools.lru_cache(maxsize=256)
def qr_svg(text: str) -> str:
    """``text`` as an inline SVG QR code (our own URL or device id: no user markup).

    Kept per process: segno encodes in pure Python (3-5 ms a code, two a tracker page
    of 14-20 ms), and the same few codes are drawn again each time an athlete opens the
    page; under a race's load those milliseconds are shared with the event loop."""
    code = segno.make(text, error="m", micro=False)
    svg: str = code.svg_inline(scale=4, border=2, dark="#14213d", light="#ffffff", omitsize=True)
    return svg


@dataclass(frozen=True)
class Shown:
    """What the tracker page shows of a tracker's token and linked device id."""

    token: str | None
    device_id: str | None
    token_lost: bool = False
    device_lost: bool = False


def shown_secrets(*, tracker: Tracker) -> Shown:
    """The tracker's token and device id, opened. A copy sealed under a key no longer in
    ``PACE_TOKEN_KEYS`` (removed before ``rotate_token_key`` re-sealed it) cannot be
    opened: None, and marked lost. Lookups go by digest, so the token and the device
    still work where they are set up; only the page cannot show them until new ones are
    issued (it said so with a 500 before)."""
    token: str | None = None
    device: str | None = None
    token_lost = device_lost = False
    try:
        token = tracker.token
    except sealing.TokenDecryptError:
        token_lost = True
    try:
        device = tracker.device_id
    except sealing.TokenDecryptError:
        device_lost = True
    return Shown(token, device, token_lost, device_lost)


def device_status(*, tracker: Tracker) -> dict[str, Any]:
    """When the tracker app's first and last fixes arrived (from its linked device id)."""
    device_id = shown_secrets(tracker=tracker).device_id
    if not device_id:
        return {"device_id": None, "first": None, "last": None, "fixes": 0}
    found = Position.objects.filter(
        registration_id=tracker.registration_id, seq=0, device_key=device_key(device_id)
    ).aggregate(first=Min("received_at"), last=Max("received_at"), fixes=Count("id"))
    return {
        "device_id": device_id,
        "first": found["first"].timestamp() if found["first"] else None,
        "last": found["last"].timestamp() if found["last"] else None,
        "fixes": found["fixes"],
    }


@require_GET
def device(request: HttpRequest) -> HttpResponse:
    """``/track/device/?token=``: has the tracker app's first fix arrived? (The page polls.)"""
    limited = hit(name="tracker.device.ip", key=request_ip(request))
    if limited:
        return too_many_requests(limited)
    token = request.GET.get("token", "")
    tracker = None
    if is_plausible_key(token, max_length=64):
        tracker = Tracker.objects.filter(
            token_digest=secret_digest(token), revoked_at__isnull=True
        ).first()
    if tracker is None:
        return JsonResponse({"error": "unknown or revoked tracking token"}, status=404)
    response = JsonResponse(device_status(tracker=tracker))
    response["Cache-Control"] = "no-store"
    return response
