"""Race control's page (``/control/EVENT/RACE/``) and its actions (``.../act/``).

Thin: the page renders a shell that ``static/tracking/control.js`` fills from the race's
live stream (``/ws/live/RACE_ID/``, asking the field every second) and its control
socket (``/ws/control/RACE_ID/``); actions are POSTs (CSRF-checked) answered in JSON,
each checked against the organizer of the race acted on (``tracking.control.access``)
and done by ``tracking.control.actions``. Never cached: it shows phone numbers.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from events.models import Race, Registration
from tracking.control import actions
from tracking.control.access import control_race_by_slugs
from tracking.models import Post, Withdrawal
from tracking.selectors import race_info, race_thresholds

RECENT_POSTS = 30
ALERT_LISTS = [
    ("off_course", "Off course"),
    ("missed_checkpoint", "Missed a checkpoint"),
    ("stopped", "Stopped too long"),
    ("lost_signal", "Lost signal"),
]


def _race(request: HttpRequest, event_slug: str, race_slug: str) -> Race:
    race = control_race_by_slugs(event_slug=event_slug, race_slug=race_slug, user=request.user)
    if race is None:
        raise Http404("No such race")
    return race


def _roster(race: Race) -> list[list[Any]]:
    """``[id, bib, name, category, emergency contact, emergency phone]`` of every athlete."""
    rows = (
        Registration.objects.filter(race=race, status=Registration.Status.CONFIRMED)
        .select_related("category")
        .order_by("pk")
        .only(
            "pk", "bib", "first_name", "last_name", "category__code",
            "emergency_name", "emergency_phone",
        )
    )  # fmt: skip
    return [
        [
            r.pk, r.bib, r.name, r.category.code if r.category else "",
            r.emergency_name, r.emergency_phone,
        ]
        for r in rows
    ]  # fmt: skip


def _posts(race: Race) -> list[dict[str, Any]]:
    posts = (
        Post.objects.filter(race=race, hidden=False)
        .select_related("registration")
        .order_by("-created_at")[:RECENT_POSTS]
    )
    return [
        {
            "id": p.pk,
            "athlete": p.registration_id,
            "name": p.registration.name,
            "text": p.text,
            "t": round(p.created_at.timestamp(), 3),
        }
        for p in posts
    ]


@never_cache
def control(request: HttpRequest, event_slug: str, race_slug: str) -> HttpResponse:
    """The map with every athlete, the alerts, the SOS calls, posts and the crew view."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    race = _race(request, event_slug, race_slug)
    thresholds, contacts = race_thresholds(race_id=race.pk)
    config = {
        **race_info(race),
        "event": race.event.name,
        "race": race.name,
        "ws_live": f"/ws/live/{race.pk}/",
        "ws_control": f"/ws/control/{race.pk}/",
        "act": reverse("tracking:control_act", args=[race.event.slug, race.slug]),
        "timezone": race.event.timezone,
        "roster": _roster(race),
        "withdrawn": list(
            Withdrawal.objects.filter(race=race).values_list("registration_id", flat=True)
        ),
        "posts": _posts(race),
        "thresholds": {
            "off_course_m": thresholds.off_course_m,
            "stopped_min": round(thresholds.stopped_s / 60),
            "lost_min": round(thresholds.lost_s / 60),
            "contacts": len(contacts),
        },
        "tiles": {"url": settings.MAP_TILE_URL, "attribution": settings.MAP_TILE_ATTRIBUTION},
    }
    context = {"race": race, "event": race.event, "config": config, "alert_lists": ALERT_LISTS}
    return render(request, "tracking/control.html", context)


@require_POST
def control_act(request: HttpRequest, event_slug: str, race_slug: str) -> JsonResponse:
    """One action of race control: ``action`` = dnf | hide | message | ack."""
    if not request.user.is_authenticated:
        return JsonResponse({"error": "Log in first."}, status=401)
    race = _race(request, event_slug, race_slug)
    data, by = request.POST, request.user
    action = data.get("action", "")
    try:
        if action == "dnf":
            w = actions.athlete_withdraw(
                race=race, registration_id=data.get("athlete"), by=by, reason=data.get("reason", "")
            )
            return JsonResponse({"ok": True, "athlete": w.registration_id, "at": w.at.timestamp()})
        if action == "hide":
            actions.post_hide(race=race, post_id=data.get("post"))
            return JsonResponse({"ok": True, "post": int(data.get("post", "0"))})
        if action == "message":
            m = actions.athletes_message(
                race=race, text=data.get("text", ""), by=by, registration_id=data.get("athlete")
            )
            return JsonResponse({"ok": True, "message": m.pk, "to": m.registration_id})
        if action == "ack":
            sos = actions.sos_acknowledge(race=race, sos_id=data.get("sos"), by=by)
            return JsonResponse({"ok": True, "sos": sos.pk})
    except actions.ControlError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse({"error": "Unknown action."}, status=400)
