"""Payment views: send an athlete to Stripe Checkout, and Stripe's webhook."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from events.models import Registration


@never_cache
def checkout(request: HttpRequest, token: str) -> HttpResponse:
    """Go to Stripe Checkout for a pending entry (or back to the entry when nothing is due)."""
    registration = get_object_or_404(Registration, manage_token=token)
    return redirect("events:entry", token=registration.manage_token)


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"error": "Stripe is not configured"}, status=404)
