"""Payment views: send an athlete to Stripe Checkout, and Stripe's webhook."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from events.models import Registration
from events.registration import closed_reason
from payments import stripe
from payments.checkout import CheckoutUnavailableError, checkout_url
from payments.models import Payment
from payments.webhooks import webhook_process

logger = logging.getLogger(__name__)


@never_cache
def checkout(request: HttpRequest, token: str) -> HttpResponse:
    """Go to Stripe Checkout for a pending entry (or back to the entry when nothing is due)."""
    registration = get_object_or_404(
        Registration.objects.select_related("race__event", "event"), manage_token=token
    )
    # A declined card leaves the session open: the athlete may come back and try another.
    payment = registration.payments.filter(
        method=Payment.Method.STRIPE, status__in=[Payment.Status.PENDING, Payment.Status.FAILED]
    ).first()
    back = redirect("events:entry", token=registration.manage_token)
    if registration.status != Registration.Status.PENDING or payment is None:
        return back
    if registration.hold_expires_at is None or registration.hold_expires_at <= timezone.now():
        messages.error(request, "The time to pay for this entry has run out.")
        return back
    # Not once the event is cancelled or entries closed since the entry was sent.
    reason = closed_reason(race=registration.race)
    if reason:
        messages.error(request, reason)
        return back
    payment.registration = registration
    try:
        url = checkout_url(payment=payment)
    except (CheckoutUnavailableError, stripe.PaymentProviderError) as exc:
        logger.warning("Checkout of payment %s unavailable: %s", payment.pk, exc)
        context = {"r": registration, "retry": getattr(exc, "retryable", False)}
        return render(request, "payments/checkout_unavailable.html", context, status=503)
    return HttpResponseRedirect(url, status=303)


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    """Stripe's events, verified by signature; 400 leaves everything as it was."""
    if not stripe.available():
        return JsonResponse({"error": "Stripe is not configured"}, status=404)
    try:
        event = stripe.webhook_event(
            payload=request.body, signature=request.headers.get("Stripe-Signature", "")
        )
    except stripe.WebhookSignatureError as exc:
        logger.warning("Stripe webhook refused: %s", exc)
        return JsonResponse({"error": "invalid signature or payload"}, status=400)
    try:
        outcome = webhook_process(event=event)
    except stripe.PaymentProviderError as exc:
        if exc.retryable:
            # Nothing was stored: Stripe delivers the event again later.
            return JsonResponse({"error": str(exc)}, status=503)
        # Delivering it again would be refused the same way: answered, so Stripe stops.
        logger.error("Stripe event %.80r could not be handled: %s", event.get("id"), exc)
        return JsonResponse({"status": "failed", "error": str(exc)})
    return JsonResponse({"status": outcome})
