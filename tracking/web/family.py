"""Family links' pages: an athlete makes and revokes them; ``/f/TOKEN/`` opens one.

The athlete proves the entry is theirs the way the page they came from does: their
tracking token (``/track/?token=``), their entry's secret link (``/entries/TOKEN/``,
as ``manage``), or their logged-in account. The logic is ``tracking.familylinks``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from events.courses import course_geojson
from events.models import Race, Registration
from pace.lib.ratelimits import first_limited, hit, request_ip
from tracking.familylinks import (
    DURATIONS,
    FamilyLinkError,
    active_family_links,
    family_link_create,
    family_link_for,
    family_link_revoke,
)
from tracking.ingest.trackers import entry_for_token
from tracking.selectors import live_page_race


def _pk(value: str) -> int | None:
    """A primary key typed in a form: ASCII digits that fit a bigint (``isdigit`` also
    takes '²', which ``int`` and the database refuse), else None."""
    return int(value) if value.isascii() and value.isdecimal() and len(value) <= 18 else None


def _registration(request: HttpRequest) -> Registration | None:
    """The entry named in the POST, if the sender proves it is theirs."""
    wanted = _pk(request.POST.get("registration", ""))
    token = request.POST.get("token", "")
    manage = request.POST.get("manage", "")
    if wanted is None:
        return None
    if token:
        entry = entry_for_token(token=token)
        found = entry.registration if entry else None
    elif manage:
        found = Registration.objects.filter(manage_token=manage[:64]).first()
    elif request.user.is_authenticated:
        found = Registration.objects.filter(pk=wanted, user=request.user).first()
    else:
        found = None
    return found if found is not None and found.pk == wanted else None


def _back(request: HttpRequest) -> str:
    back = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(back, {request.get_host()}, require_https=False):
        return back
    return reverse("tracking:track")


def family_url(*, token: str) -> str:
    """The link the family opens (the short one; it leads to the focused live page)."""
    return settings.SITE_URL + reverse("tracking:family_open", args=[token])


@never_cache
@require_POST
def family_links(request: HttpRequest) -> HttpResponse:
    """Make (``action=create``) or revoke (``action=revoke``, ``link``) a family link."""
    registration = _registration(request)
    if registration is None:
        raise Http404("No such entry")
    back = _back(request)
    if request.POST.get("action") == "revoke":
        wanted_link = _pk(request.POST.get("link", ""))
        link = registration.family_links.filter(pk=wanted_link).first() if wanted_link else None
        if link is None:
            raise Http404("No such link")
        family_link_revoke(link=link)
        messages.success(request, "The family link was revoked: it no longer opens the race.")
        return redirect(back)
    limited = first_limited(
        attempts=[
            ("family.create.entry", str(registration.pk)),
            ("family.create.ip", request_ip(request)),
        ]
    )
    context: dict[str, Any] = {"back": back, "race": registration.race}
    if limited is not None:
        minutes = -(-limited.retry_after // 60)
        context["error"] = f"Too many family links made: try again in {minutes} min."
        response = render(request, "tracking/family_link_created.html", context, status=429)
        response["Retry-After"] = str(limited.retry_after)
        return response
    try:
        link, token = family_link_create(
            registration=registration,
            duration=request.POST.get("duration", ""),
            label=request.POST.get("label", ""),
        )
    except FamilyLinkError as exc:
        context["error"] = str(exc)
        return render(request, "tracking/family_link_created.html", context, status=400)
    context |= {"link": link, "url": family_url(token=token)}
    return render(request, "tracking/family_link_created.html", context)


@never_cache
@require_GET
def family_open(request: HttpRequest, token: str) -> HttpResponse:
    """``/f/TOKEN/``: the race's live page focused on the athlete, while the link works."""
    ip = request_ip(request)
    limited = hit(name="family.badtoken.ip", key=ip, increment=False)
    link = None if limited else family_link_for(token=token)
    if link is None:
        if not limited:
            hit(name="family.badtoken.ip", key=ip)
        context = {"limited": limited}
        # Past the limit the token is not even looked up: 429 with when to try again
        # (a mistyped link's holder reads the page; a script reads the status).
        response = render(
            request, "tracking/family_link_gone.html", context, status=429 if limited else 404
        )
        if limited:
            response["Retry-After"] = str(limited.retry_after)
        return response
    race = link.registration.race
    live = reverse("tracking:live", args=[race.event.slug, race.slug])
    query = {"athlete": link.registration.bib, "family": token} if link.registration.bib else {}
    return redirect(f"{live}?{urlencode(query or {'family': token})}")


def family_panel(
    *, request: HttpRequest, registration: Registration, token: str = "", manage: str = ""
) -> SafeString:
    """The "Share with family" block of an entry's page or of the tracker page."""
    context: dict[str, Any] = {
        "reg": registration,
        "links": active_family_links(registration=registration),
        "durations": [(key, label) for key, (label, _) in DURATIONS.items()],
        "token": token,
        "manage": manage,
        "next": request.get_full_path(),
    }
    return SafeString(render_to_string("tracking/_family_panel.html", context, request=request))


def entry_family_panel(request: HttpRequest, registration: Registration) -> SafeString:
    """The block of an entry's page (``events.entry_panels``): its owner holds the page's
    secret link, which is what they prove the entry is theirs with."""
    if registration.status != Registration.Status.CONFIRMED:
        return SafeString("")
    return family_panel(
        request=request, registration=registration, manage=registration.manage_token
    )


@require_GET
def family_course(request: HttpRequest, event_slug: str, race_slug: str) -> HttpResponse:
    """The race's course as GeoJSON for whoever may watch it, a family link's holder
    (``?family=``) too: the course's own address shows a race that is not public only to
    its organizer's members."""
    race = watched_race_or_404(request, event_slug, race_slug)
    if race.course is None:
        raise Http404("No such race")
    data = course_geojson(race.course, list(race.course.split_points.all()))
    response = JsonResponse(data, content_type="application/geo+json")
    response["Cache-Control"] = "private, max-age=300"
    return response


def watched_race_or_404(request: HttpRequest, event_slug: str, race_slug: str) -> Race:
    """The race of a live, replay or course address if this visitor may watch it (its
    access rules, or a family link's token of it as ``?family=``); 404 otherwise."""
    race = live_page_race(
        event_slug=event_slug,
        race_slug=race_slug,
        user=request.user,
        family=request.GET.get("family", ""),
    )
    if race is None:
        raise Http404("No such race")
    return race


def watch_course_url(*, race: Race, family: str) -> str | None:
    """Where a live or replay page of ``race`` loads its course from."""
    if race.course_id is None:
        return None
    if not family:
        return reverse("events:course", args=[race.course_id])
    url = reverse("tracking:family_course", args=[race.event.slug, race.slug])
    return f"{url}?{urlencode({'family': family})}"
