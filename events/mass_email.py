"""E-mail from an organizer to a race's participants (or to selected entries).

One message per confirmed participant and address, each sent by its own task
after the request's transaction commits, so a failing address is retried alone
and never sends the others twice. Each copy is recorded in its entry's history
as queued when the organizer sends, then as sent, failed (with the reason) or
skipped when its task has run: the race's history page counts them from there,
so it never claims a copy went that did not. The race's ``LogEntry`` says who
queued what, and when.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
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

from events.access import MANAGE_ROLES, scope_to_user
from events.models import Race, Registration, RegistrationChange
from events.tasks import send_participant_email
from pace.lib.mail import has_line_break, one_line

logger = logging.getLogger(__name__)

# Writing to every participant in the organizer's name is for its owners and admins.
SENDER_ROLES = MANAGE_ROLES


class MassEmailForm(forms.Form):
    subject = forms.CharField(
        max_length=200, strip=True, widget=forms.TextInput(attrs={"class": "vTextField"})
    )
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 12, "cols": 80, "class": "vLargeTextField"}),
        strip=True,
        help_text="Plain text. A footer names your organization and the race.",
    )

    def clean_subject(self) -> str:
        subject: str = self.cleaned_data["subject"]
        if has_line_break(subject):
            raise forms.ValidationError("A subject is one line: remove its line breaks.")
        return subject


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
    scoped = scope_to_user(registrations, user, SENDER_ROLES)
    ids = email_recipients(registrations=scoped)
    races = Race.objects.filter(registrations__pk__in=ids).distinct()
    # Queued, not sent: each copy's outcome is written in its entry's history by its task.
    note = f"Queued the e-mail “{subject}” for {len(ids)} participant(s)."
    LogEntry.objects.log_actions(
        user_id=user.pk, queryset=list(races), action_flag=CHANGE, change_message=note
    )
    logger.info("participant e-mail by user %s to %d entries: %s", user.pk, len(ids), subject)
    detail = {"batch": uuid.uuid4().hex[:12], "subject": subject, "outcome": QUEUED}
    changes = RegistrationChange.objects.bulk_create(
        RegistrationChange(registration_id=pk, kind=EMAIL, actor=user, detail=detail) for pk in ids
    )
    for change in changes:
        transaction.on_commit(
            functools.partial(
                send_participant_email.delay, change.registration_id, subject, body, change.pk
            ),
            robust=True,  # a broker out of reach leaves the copy queued, the page still answers
        )
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


# What became of one copy, in its entry's history (``RegistrationChange`` of kind "email").
EMAIL = "email"
QUEUED, SENT, FAILED, SKIPPED = "queued", "sent", "failed", "skipped"


def participant_email_deliver(
    *, registration_id: int, subject: str, body: str, change_id: int | None, final: bool
) -> str:
    """Send one copy and record its outcome; returns it.

    A failure that may pass (the mail server out of reach or refusing for now:
    ``OSError``) is raised for the task to try again, and recorded only on the
    ``final`` try; any other failure is recorded at once: trying again cannot help.
    """
    try:
        sent = participant_email_send(registration_id=registration_id, subject=subject, body=body)
    except OSError as exc:
        if not final:
            raise
        return _email_record(change_id, FAILED, error=exc)
    except Exception as exc:
        logger.exception("participant e-mail of entry %s failed", registration_id)
        return _email_record(change_id, FAILED, error=exc)
    return _email_record(change_id, SENT if sent else SKIPPED)


def _email_record(change_id: int | None, outcome: str, *, error: Exception | None = None) -> str:
    change = (
        RegistrationChange.objects.filter(pk=change_id, kind=EMAIL).first()
        if change_id is not None
        else None
    )
    if change is not None:
        reason = one_line(f"{type(error).__name__}: {error}")[:300] if error else ""
        change.detail = {**change.detail, "outcome": outcome, "error": reason}
        change.save(update_fields=["detail"])
    return outcome


@dataclass
class EmailBatch:
    """One e-mail an organizer sent to a race: how many copies went, failed, wait."""

    subject: str
    queued_at: datetime
    sender: str
    counts: dict[str, int] = field(default_factory=dict)
    failures: list[tuple[str, str]] = field(default_factory=list)


def race_email_history(*, race: Race) -> list[EmailBatch]:
    """The e-mails sent to a race's participants, newest first, with what became of each copy."""
    changes = (
        RegistrationChange.objects.filter(kind=EMAIL, registration__race=race)
        .select_related("registration", "actor")
        .order_by("created_at", "pk")
    )
    batches: dict[str, EmailBatch] = {}
    for change in changes:
        detail = change.detail
        batch = batches.setdefault(
            str(detail.get("batch")),
            EmailBatch(str(detail.get("subject", "")), change.created_at, str(change.actor or "")),
        )
        outcome = str(detail.get("outcome", QUEUED))
        batch.counts[outcome] = batch.counts.get(outcome, 0) + 1
        if outcome == FAILED:
            batch.failures.append((change.registration.email, str(detail.get("error", ""))))
    return sorted(batches.values(), key=lambda b: b.queued_at, reverse=True)


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
    hidden: Sequence[tuple[str, Any]] | None = None,
) -> HttpResponse:
    """The subject and body form with the number of recipients; sends on a valid post."""
    registrations = scope_to_user(registrations, request.user, SENDER_ROLES)
    context = {**admin_context, "recipients": len(email_recipients(registrations=registrations))}
    form, count = _send_or_show(request, registrations, context)
    if count is not None:
        messages.success(request, f"{count} e-mail(s) queued for sending.")
        return HttpResponseRedirect(back_url)
    context.update(form=form, title=title, back_url=back_url, hidden=hidden or ())
    return TemplateResponse(request, "admin/events/registration/mass_email.html", context)


def race_email_view(request: HttpRequest, race_id: int, *, admin_context: dict[str, Any]) -> Any:
    """E-mail every confirmed participant of one race."""
    race = get_object_or_404(
        scope_to_user(Race.objects.select_related("event"), request.user, SENDER_ROLES), pk=race_id
    )
    changelist = reverse("admin:events_registration_changelist")
    return mass_email_page(
        request,
        admin_context={**admin_context, "race": race},
        registrations=race.registrations.all(),
        title=f"E-mail the participants of {race}",
        back_url=f"{changelist}?race__id__exact={race.pk}",
    )
