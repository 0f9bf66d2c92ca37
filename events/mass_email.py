"""E-mail from an organizer to a race's participants (or to selected entries).

One message per confirmed participant and address, each sent by its own task
after the request's transaction commits, so a failing address is retried alone
and never sends the others twice. Who sent what stays in the admin's history
of each race (``LogEntry``) and in the log.
"""

from __future__ import annotations

import logging
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.admin.models import CHANGE, LogEntry
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse

from events.access import scope_to_user
from events.models import Race, Registration
from events.tasks import send_participant_email

logger = logging.getLogger(__name__)


class MassEmailForm(forms.Form):
    subject = forms.CharField(
        max_length=200, strip=True, widget=forms.TextInput(attrs={"class": "vTextField"})
    )
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 12, "cols": 80, "class": "vLargeTextField"}),
        strip=True,
        help_text="Plain text. A footer names your organization and the race.",
    )


def email_recipients(*, registrations: QuerySet[Registration]) -> list[int]:
    """Confirmed entries to write to, one per e-mail address (team-mates often share one)."""
    seen: set[str] = set()
    ids = []
    confirmed = registrations.filter(status=Registration.Status.CONFIRMED).order_by("pk")
    for pk, email in confirmed.values_list("pk", "email"):
        if email.lower() not in seen:
            seen.add(email.lower())
            ids.append(pk)
    return ids


def participants_email(
    *, user: Any, registrations: QuerySet[Registration], subject: str, body: str
) -> int:
    """Queue the e-mail to every confirmed participant in ``registrations`` the user may reach."""
    scoped = scope_to_user(registrations, user)
    ids = email_recipients(registrations=scoped)
    races = Race.objects.filter(registrations__pk__in=ids).distinct()
    note = f"Sent the e-mail “{subject}” to {len(ids)} participant(s)."
    LogEntry.objects.log_actions(
        user_id=user.pk, queryset=list(races), action_flag=CHANGE, change_message=note
    )
    logger.info("participant e-mail by user %s to %d entries: %s", user.pk, len(ids), subject)
    for pk in ids:
        transaction.on_commit(lambda pk=pk: send_participant_email.delay(pk, subject, body))
    return len(ids)


def participant_email_send(*, registration_id: int, subject: str, body: str) -> bool:
    """Send one participant their copy; False when the entry was cancelled meanwhile."""
    entry = (
        Registration.objects.select_related("race__event__organizer")
        .filter(pk=registration_id, status=Registration.Status.CONFIRMED)
        .first()
    )
    if entry is None:
        return False
    race = entry.race
    organizer = race.event.organizer
    footer = (
        f"\n\n--\n{organizer.name}: {race.event.name}, {race.name}\n"
        "You receive this e-mail because you entered this race."
    )
    EmailMessage(
        subject=subject,
        body=body + footer,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[entry.email],
        reply_to=[organizer.contact_email],
    ).send()
    return True


def _send_or_show(
    request: HttpRequest, registrations: QuerySet[Registration], context: dict[str, Any]
) -> tuple[MassEmailForm, int | None]:
    """Validate the form on a send; returns the form and the number queued (None: not sent)."""
    form = MassEmailForm(request.POST if "send" in request.POST else None)
    if not form.is_valid():
        return form, None
    if not context["recipients"]:
        form.add_error(None, "Nobody to write to: no confirmed participant is selected.")
        return form, None
    count = participants_email(
        user=request.user,
        registrations=registrations,
        subject=form.cleaned_data["subject"],
        body=form.cleaned_data["body"],
    )
    return form, count


def mass_email_page(
    request: HttpRequest,
    *,
    admin_context: dict[str, Any],
    registrations: QuerySet[Registration],
    title: str,
    back_url: str,
    hidden: dict[str, Any] | None = None,
) -> HttpResponse:
    """The subject and body form with the number of recipients; sends on a valid post."""
    registrations = scope_to_user(registrations, request.user)
    context = {**admin_context, "recipients": len(email_recipients(registrations=registrations))}
    form, count = _send_or_show(request, registrations, context)
    if count is not None:
        messages.success(request, f"{count} e-mail(s) queued for sending.")
        return HttpResponseRedirect(back_url)
    context.update(form=form, title=title, back_url=back_url, hidden=hidden or {})
    return TemplateResponse(request, "admin/events/registration/mass_email.html", context)


def race_email_view(request: HttpRequest, race_id: int, *, admin_context: dict[str, Any]) -> Any:
    """E-mail every confirmed participant of one race."""
    race = get_object_or_404(
        scope_to_user(Race.objects.select_related("event"), request.user), pk=race_id
    )
    changelist = reverse("admin:events_registration_changelist")
    return mass_email_page(
        request,
        admin_context={**admin_context, "race": race},
        registrations=race.registrations.all(),
        title=f"E-mail the participants of {race}",
        back_url=f"{changelist}?race__id__exact={race.pk}",
    )
