"""Public marketplace pages: thin views over selectors and forms."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from events import selectors
from events.calendar import event_ics
from events.courses import course_geojson
from events.forms import EventSearchForm, OrganizerSignupForm
from events.models import Sport
from events.organizers import organizer_create
from events.race_pages import race_links
from events.registration import closed_reason
from events.seo import event_json_ld
from pace.lib.auth import AuthenticatedHttpRequest
from pace.lib.pagecache import cached_public_page

PAGE_SIZE = 20
# Organizers write event names: keep "</script>" in them from closing the JSON-LD tag.
_JSON_IN_SCRIPT = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}


@cached_public_page
def home(request: HttpRequest) -> HttpResponse:
    context = {
        "form": EventSearchForm(),
        "events": selectors.upcoming_events(limit=9),
    }
    counts = selectors.sport_counts()
    context["sports"] = [(v, label, counts.get(v, 0)) for v, label in Sport.choices]
    return render(request, "events/home.html", context)


@cached_public_page(params=frozenset(EventSearchForm.base_fields))
def event_list(request: HttpRequest) -> HttpResponse:
    form = EventSearchForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return render(request, "events/event_list.html", {"form": form, "page": None}, status=400)
    filters = form.cleaned_data if form.is_bound else {}
    paginator = Paginator(selectors.event_search(filters=filters), PAGE_SIZE)
    page = paginator.get_page(filters.get("page") or 1)
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "query": query.urlencode()}
    return render(request, "events/event_list.html", context)


@cached_public_page
def event_detail(request: HttpRequest, slug: str) -> HttpResponse:
    event = selectors.event_for_page(slug=slug, user=request.user)
    races = _with_entry_state(list(event.races.all()))
    links = race_links(races)
    for race in races:
        race.links = links[race.pk]
    context = {
        "event": event,
        "races": races,
        "json_ld": json.dumps(event_json_ld(event)).translate(_JSON_IN_SCRIPT),
    }
    return render(request, "events/event_detail.html", context)


def _with_entry_state(races: list[Any]) -> list[Any]:
    """Each race says whether it still takes entries (the entry page says why not)."""
    now = timezone.now()
    for race in races:
        race.entry_closed = closed_reason(race=race, now=now)
    return races


@cached_public_page
def organizer_detail(request: HttpRequest, slug: str) -> HttpResponse:
    organizer, upcoming, past = selectors.organizer_for_page(slug=slug)
    context = {"organizer": organizer, "upcoming": upcoming, "past": past}
    return render(request, "events/organizer_detail.html", context)


def event_calendar(request: HttpRequest, slug: str) -> HttpResponse:
    event = selectors.event_for_page(slug=slug, user=request.user)
    response = HttpResponse(event_ics(event), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{event.slug}.ics"'
    return response


@cached_public_page
def course(request: HttpRequest, course_id: int) -> HttpResponse:
    """The course as GeoJSON (PROTOCOL.md's ``course_url``), or GPX with ``?format=gpx``.

    Cached without parameters: the GeoJSON every event page's map loads is; GPX
    downloads (``?format=gpx``, with their Content-Disposition) never are.
    """
    fmt = request.GET.get("format", "geojson")
    if fmt not in ("geojson", "gpx"):
        return JsonResponse({"error": "format must be geojson or gpx"}, status=400)
    found = selectors.course_for_download(course_id=course_id, user=request.user)
    if fmt == "gpx":
        response = HttpResponse(found.gpx, content_type="application/gpx+xml")
        response["Content-Disposition"] = f'attachment; filename="course-{found.pk}.gpx"'
        return response
    data = course_geojson(found, list(found.split_points.all()))
    response = JsonResponse(data, content_type="application/geo+json")
    # A member may be shown a draft's course: shared caches must not pass it on.
    scope = "private" if request.user.is_authenticated else "public"
    response["Cache-Control"] = f"{scope}, max-age=300"
    return response


@login_required
def organizer_signup(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Anyone with an account may start an organizer and list events."""
    form = OrganizerSignupForm(request.POST or None, initial={"contact_email": request.user.email})
    if request.method == "POST" and form.is_valid():
        organizer = organizer_create(owner=request.user, **form.cleaned_data)
        messages.success(request, f"{organizer.name} is ready. Add your first event.")
        return redirect(reverse("admin:events_event_add"))
    return render(request, "events/organizer_signup.html", {"form": form})
