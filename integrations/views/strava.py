"""Strava's webhook endpoint, and the Strava activity of an athlete's race entry."""

from __future__ import annotations

import json
import logging

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from events.models import Registration
from integrations import race_match
from integrations.strava import webhooks
from pace.lib import ratelimits

logger = logging.getLogger(__name__)


@require_http_methods(["GET"])
def race_activity(request: HttpRequest, registration_id: int) -> JsonResponse:
    """The Strava activity of the athlete's own race entry (their result page asks)."""
    if not request.user.is_authenticated:
        return JsonResponse({"activity": None}, status=403)
    registration = (
        Registration.objects.select_related("race")
        .filter(pk=registration_id, user_id=request.user.pk)
        .first()
    )
    activity = race_match.race_activity(registration=registration) if registration else None
    if activity is None:
        return JsonResponse({"activity": None})
    return JsonResponse(
        {
            "activity": {
                "name": activity.name,
                "sport": activity.sport,
                "distance_km": round(activity.distance / 1000, 2),
                "moving_time": activity.moving_time,
                "elapsed_time": activity.elapsed_time,
                "start": activity.start.isoformat(),
                "url": f"https://www.strava.com/activities/{activity.external_id}",
            }
        }
    )


@csrf_exempt
@require_http_methods(["GET", "POST"])
def strava_webhook(request: HttpRequest) -> HttpResponse:
    limited = ratelimits.hit(name="strava.webhook.ip", key=ratelimits.request_ip(request))
    if limited:
        return ratelimits.too_many_requests(limited)
    if request.method == "GET":
        challenge = webhooks.challenge_answer(request.GET.dict())
        if challenge is None:
            return JsonResponse({"error": "not our subscription's handshake"}, status=403)
        return JsonResponse({"hub.challenge": challenge})
    try:
        event = webhooks.parse_event(json.loads(request.body))
    except (ValueError, UnicodeDecodeError) as exc:
        reason = str(exc) if isinstance(exc, webhooks.BadEvent) else "the body is not JSON"
        return JsonResponse({"error": reason}, status=400)
    if not webhooks.is_ours(event["subscription_id"]):
        logger.warning("Strava event of subscription %s refused", event["subscription_id"])
        return JsonResponse({"error": "unknown subscription"}, status=403)
    from integrations.tasks import strava_webhook_event

    transaction.on_commit(lambda: strava_webhook_event.delay(event))
    return JsonResponse({"ok": True})
