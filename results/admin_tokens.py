"""Timing tokens and chip files in the back office, scoped per organizer like the rest.

A token's secret shows once, on the page answering its creation, and is never kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from events.access import EDIT_ROLES, scope_to_user
from events.admin_scoping import OrganizerScopedAdmin
from events.models import Event
from results.chip_mappings import chip_mappings_import
from results.models import ChipMapping, TimingToken
from results.readfiles import ReadFileError
from results.readfiles.base import MAX_BYTES, LineError, bib_cell, chip_cell
from results.timing_tokens import timing_token_issue, timing_token_revoke


@admin.register(TimingToken)
class TimingTokenAdmin(OrganizerScopedAdmin):
    list_display = ["name", "race", "hint", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["race"]
    list_select_related = ["race__event"]
    search_fields = ["name", "race__name"]
    fields = ["race", "name", "hint", "created_by", "created_at", "last_used_at", "revoked_at"]
    # A token's race never changes (a new race gets a new token): chosen on adding only.
    readonly_fields = ["race", "hint", "created_by", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]
    revoke_roles = EDIT_ROLES

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(self.readonly_fields)
        return fields if obj is not None else [f for f in fields if f != "race"]

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {"race": request.GET.get("race", "")}

    def save_model(self, request: HttpRequest, obj: TimingToken, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        request._timing_secret = timing_token_issue(obj, actor=request.user)  # type: ignore[attr-defined]

    def response_add(
        self, request: HttpRequest, obj: TimingToken, post_url_continue: Any = None
    ) -> HttpResponse:
        """The only page ever showing the token: copy it into the decoder now."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Timing token “{obj.name}”",
            "token": obj,
            "secret": request._timing_secret,  # type: ignore[attr-defined]
            "push_url": request.build_absolute_uri(reverse("results:timing_reads")),
        }
        response = TemplateResponse(request, "admin/results/timingtoken/created.html", context)
        response["Cache-Control"] = "no-store"
        return response

    def has_revoke_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_change_permission(request, obj)

    @admin.action(description="Revoke selected tokens", permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[TimingToken]) -> None:
        revoked = sum(timing_token_revoke(token=token) for token in queryset)
        self.message_user(request, f"{revoked} token(s) revoked.", messages.SUCCESS)


class ChipFileForm(forms.Form):
    event = forms.ModelChoiceField(queryset=Event.objects.none())
    file = forms.FileField(help_text="Two columns, chip and bib (a header naming them or not).")


class ChipMappingForm(forms.ModelForm):  # type: ignore[type-arg]  # generic in the stubs only
    """Typed mappings follow the chip file's rules (no formula, a bib a decoder can match)."""

    class Meta:
        model = ChipMapping
        fields = ["event", "chip", "bib"]

    def clean_chip(self) -> str:
        return _cell(chip_cell, self.cleaned_data["chip"])

    def clean_bib(self) -> str:
        return _cell(bib_cell, self.cleaned_data["bib"])


def _cell(check: Callable[[str], str], value: str) -> str:
    try:
        return check(value)
    except LineError as exc:
        raise forms.ValidationError(exc.reason.capitalize() + ".") from None


@admin.register(ChipMapping)
class ChipMappingAdmin(OrganizerScopedAdmin):
    form = ChipMappingForm
    list_display = ["chip", "bib", "event"]
    list_filter = ["event"]
    list_select_related = ["event"]
    search_fields = ["chip", "bib"]
    ordering = ["event", "chip"]

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(self.upload_view)
        return [path("upload/", view, name="results_chipmapping_upload"), *super().get_urls()]

    def upload_view(self, request: HttpRequest) -> HttpResponse:
        """A chip file for one of the user's events: mapped at once, problems listed."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ChipFileForm(request.POST or None, request.FILES or None)
        events = scope_to_user(Event.objects.all(), request.user, self.add_roles)
        form.fields["event"].queryset = events  # type: ignore[attr-defined]
        report = None
        if request.method == "POST" and form.is_valid():
            try:
                done = chip_mappings_import(
                    event=form.cleaned_data["event"],
                    data=form.cleaned_data["file"].read(MAX_BYTES + 1),
                )
            except ReadFileError as exc:
                form.add_error("file", str(exc))
            else:
                report = done.report
                self.message_user(
                    request,
                    f"{done.created} chip(s) mapped, {done.updated} changed.",
                    messages.SUCCESS,
                )
                if not report.problem_count:
                    return HttpResponseRedirect(reverse("admin:results_chipmapping_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Upload a chip file",
            "form": form,
            "report": report,
        }
        return TemplateResponse(request, "admin/results/chipmapping/upload.html", context)
