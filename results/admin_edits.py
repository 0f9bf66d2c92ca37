"""One athlete's result in the back office: its status, its penalty or bonus, its reads.

Thin: each form parses what the organizer typed and calls ``results.publishing``
(``result_set_status``, ``result_set_adjustment``, ``read_update``), which recompute the
result and its ranks and audit the change once the results are official; a refusal of
those functions comes back as the form's error. Scoped like every organizer admin: a
result of another organizer is a 404; its staff see the page, only its owners and
admins (the publish roles) change it, a POST of theirs elsewhere is a 403.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from events.access import EDIT_ROLES, has_role_for, scope_to_user
from results.formatting import duration
from results.models import Result, ResultChange, TimingRead
from results.publishing import read_update, result_set_adjustment, result_set_status
from results.readfiles.base import LineError, date_time, time_of_day
from results.timing_reads import race_venue, venue_clock

SHOWN_PRECISION = dt.timedelta(milliseconds=1)
TEMPLATE = "admin/results/resultspublication/result.html"
DSQ = Result.ManualStatus.DSQ
_DURATION = re.compile(r"(?:(\d+):)?(\d+):(\d{2})(?:\.(\d{1,3}))?|(\d+)(?:\.(\d{1,3}))?")


def parse_duration_ms(typed: str) -> int:
    """``m:ss``, ``h:mm:ss`` or seconds (each with optional ``.fff``) as milliseconds."""
    match = _DURATION.fullmatch(typed.strip())
    if not match:
        raise forms.ValidationError(f"“{typed[:20]}” is not a duration: type m:ss or seconds.")
    hours, minutes, seconds, fraction, whole, whole_fraction = match.groups()
    if whole is not None:
        total_s, fraction = int(whole), whole_fraction
    else:
        total_s = int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds)
    return total_s * 1000 + int((fraction or "0").ljust(3, "0"))


class DurationField(forms.CharField):
    def to_python(self, value: Any) -> int:  # type: ignore[override]
        text = super().to_python(value)
        return parse_duration_ms(text) if text else 0


class StatusForm(forms.Form):
    manual_status = forms.ChoiceField(
        label="Status", choices=Result.ManualStatus.choices, required=False
    )
    dsq_reason = forms.CharField(
        label="Reason of a disqualification", max_length=200, required=False
    )


class AdjustmentForm(forms.Form):
    penalty = DurationField(required=False, help_text="m:ss or seconds; empty for none.")
    bonus = DurationField(required=False, help_text="m:ss or seconds; empty for none.")
    reason = forms.CharField(max_length=200)


class ReadForm(forms.Form):
    read = forms.IntegerField(widget=forms.HiddenInput)
    ignored = forms.BooleanField(label="Ignore this read", required=False)
    time = forms.CharField(
        max_length=40, help_text="The venue's clock: YYYY-MM-DD HH:MM:SS.fff, or HH:MM:SS.fff."
    )
    reason = forms.CharField(max_length=200)


FORMS: dict[str, type[forms.Form]] = {
    "status": StatusForm, "adjustment": AdjustmentForm, "read": ReadForm,
}  # fmt: skip


class ResultEditsMixin:
    """The result pages of ``ResultsAdmin`` (which names ``publish_roles``)."""

    admin_site: Any
    opts: Any
    publish_roles: frozenset[str]

    def result_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("result/<int:result_id>/", wrap(self.result_view), name="results_result"),
            path(
                "result/<int:result_id>/edit/",
                wrap(self.result_edit_view),
                name="results_result_edit",
            ),
        ]

    def _result(self, request: HttpRequest, result_id: int) -> Result:
        """The result of the URL, or a 404 unless the user may see its race's results."""
        results = Result.objects.select_related("race__event", "registration", "category")
        found: Result = get_object_or_404(
            scope_to_user(results, request.user, EDIT_ROLES), pk=result_id
        )
        return found

    def result_view(self, request: HttpRequest, result_id: int) -> HttpResponse:
        """The result and its reads; the forms only for those who may change them."""
        result = self._result(request, result_id)
        return self._page(request, result, {})

    def result_edit_view(self, request: HttpRequest, result_id: int) -> HttpResponse:
        result = self._result(request, result_id)
        if not has_role_for(request.user, result, self.publish_roles):
            raise PermissionDenied
        page = reverse("admin:results_result", args=[result.pk])
        kind = request.POST.get("form", "")
        if request.method != "POST" or kind not in FORMS:
            return HttpResponseRedirect(page)
        form = FORMS[kind](request.POST)
        if form.is_valid():
            try:
                done = self._apply(request, result, kind, form.cleaned_data)
            except forms.ValidationError as exc:
                form.add_error(None, exc)
            except ValueError as exc:  # what results.publishing refuses, said in its words
                form.add_error(None, str(exc))
            else:
                self.message_user(request, done, messages.SUCCESS)  # type: ignore[attr-defined]
                return HttpResponseRedirect(page)
        response = self._page(request, result, {kind: form})
        response.status_code = 400
        return response

    def _apply(self, request: HttpRequest, result: Result, kind: str, data: dict[str, Any]) -> str:
        """Call the function the form stands for; says what was done."""
        who: dict[str, Any] = {"race_id": result.race_id, "registration_id": result.registration_id}
        if kind == "status":
            result_set_status(
                **who, manual_status=data["manual_status"],
                dsq_reason=data["dsq_reason"] if data["manual_status"] == DSQ else "",
                by=request.user,
            )  # fmt: skip
            return "Status saved; times and ranks recomputed."
        if kind == "adjustment":
            result_set_adjustment(
                **who, penalty_ms=data["penalty"], bonus_ms=data["bonus"], by=request.user,
                reason=data["reason"],
            )  # fmt: skip
            return "Penalty and bonus saved; times and ranks recomputed."
        read = get_object_or_404(TimingRead, pk=data["read"], **who)
        time = _read_time(result, data["time"])
        changes: dict[str, Any] = {"ignored": data["ignored"]}
        if abs(time - read.time) >= SHOWN_PRECISION:  # the form shows milliseconds
            changes["time"] = time
        read_update(read=read, by=request.user, reason=data["reason"], **changes)
        return "Read saved; times and ranks recomputed."

    def _page(
        self, request: HttpRequest, result: Result, bound: dict[str, forms.Form]
    ) -> TemplateResponse:
        race = result.race
        zone = race.event.local_tz
        may_edit = has_role_for(request.user, result, self.publish_roles)
        reads = TimingRead.objects.filter(
            race=race, registration_id=result.registration_id
        ).select_related("point", "token")
        read_rows = []
        for read in reads.order_by("time", "pk"):
            shown = venue_clock(read.time, zone, date=True)
            initial = {"read": read.pk, "ignored": read.ignored, "time": shown}
            form = bound.get("read")
            if form is None or form.data.get("read") != str(read.pk):
                form = ReadForm(initial=initial)
            form.auto_id = f"id_read{read.pk}_%s"  # one form per read on the page
            read_rows.append((read, shown, form))
        entry = result.registration
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"{entry.first_name} {entry.last_name} ({entry.bib or 'no bib'}), {race}",
            "result": result,
            "race": race,
            "zone": zone,
            "time": duration(result.time_ms, precise=True),
            "adjusted": [duration(ms) if ms else "" for ms in (result.penalty_ms, result.bonus_ms)],
            "may_edit": may_edit,
            "status_form": bound.get("status")
            or StatusForm(
                initial={"manual_status": result.manual_status, "dsq_reason": result.dsq_reason}
            ),
            "adjustment_form": bound.get("adjustment")
            or AdjustmentForm(
                initial={"penalty": _seconds(result.penalty_ms), "bonus": _seconds(result.bonus_ms)}
            ),
            "reads": read_rows,
            "changes": audit_rows(ResultChange.objects.filter(result=result), zone),
            "publication": result.race.results_publication,
        }
        return TemplateResponse(request, TEMPLATE, context)


def _seconds(ms: int) -> str:
    return f"{ms / 1000:g}" if ms else ""


def _read_time(result: Result, typed: str) -> dt.datetime:
    """What was typed in the venue's clock: with a date, or a time of the race day."""
    venue = race_venue(result.race)
    try:
        if "-" in typed:
            return date_time("time", typed, venue=venue)
        return time_of_day("time", typed, venue=venue)
    except LineError as exc:
        raise forms.ValidationError(f"Time: {exc.reason}.") from None


def audit_rows(changes: Any, zone: Any) -> list[dict[str, Any]]:
    """ResultChange rows as the audit trail shows them, newest first."""
    rows = []
    query = changes.select_related(
        "changed_by", "result__registration", "read__point", "read__token"
    )
    for change in query.order_by("-changed_at", "-pk"):
        entry = change.result.registration if change.result else None
        what = change.field
        if change.read is not None:
            what = f"{change.field} ({change.read.point.name})"
        rows.append(
            {
                "when": venue_clock(change.changed_at, zone, date=True),
                "who": change.changed_by or _sender(change.read),
                "athlete": f"{entry.first_name} {entry.last_name} ({entry.bib})" if entry else "",
                "what": what,
                "before": _shown(change.before),
                "after": _shown(change.after),
                "reason": change.reason,
            }
        )
    return rows


def _sender(read: TimingRead | None) -> str:
    """Who sent a read that no user entered: the timing token that pushed it."""
    if read is None or read.token is None:
        return ""
    return f"timing token “{read.token.name}” ({read.token.hint}…)"


def _shown(value: Any) -> str:
    return "" if value is None else str(value)
