"""E-mails about money to athletes: a refund made (by the organizer, on Stripe, automatically)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string

from events.notifications import registration_manage_url
from pace.lib.mail import one_line
from payments.models import Refund


def refund_notice_send(*, refund_id: int) -> None:
    """Tell the athlete how much comes back; sending twice is harmless."""
    refund = (
        Refund.objects.select_related("payment__registration__race__event__organizer")
        .filter(pk=refund_id)
        .first()
    )
    if refund is None:
        return
    payment = refund.payment
    registration = payment.registration
    race = registration.race
    context = {
        "refund": refund, "payment": payment, "r": registration,
        "manage_url": registration_manage_url(registration),
    }  # fmt: skip
    send_mail(
        subject=one_line(f"Refund of your entry: {race.event.name}, {race.name}"),
        message=render_to_string("events/email/refunded.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[registration.email],
    )
