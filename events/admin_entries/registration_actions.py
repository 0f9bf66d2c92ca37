"""Actions on the entries selected in the participants list, and who may run them.

Staff check in, number and export; cancelling entries and writing to everyone in the
organizer's name are for its owners and admins. Each action checks its role per
selected entry's organizer (``OrganizerScopedAdmin.get_action``).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from events import exports, mass_email
from events.access import MANAGE_ROLES, has_role_for
from events.admin_scoping import OrganizerScopedAdmin
from events.entry_changes import bibs_assign, registration_cancel, registration_check_in
from events.models import Race, Registration
from events.registration import RegistrationError

CSV, XLSX = "text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def download(data: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class RegistrationActions(OrganizerScopedAdmin):
    """The participants list's actions; ``RegistrationAdmin`` adds the list and its pages."""

    actions = [
        "check_in", "assign_bibs", "export_csv", "export_xlsx", "email_selected", "cancel_entries",
    ]  # fmt: skip
    cancel_roles = MANAGE_ROLES
    email_roles = mass_email.SENDER_ROLES

    def has_cancel_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return has_role_for(request.user, obj, self.cancel_roles)

    def has_email_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return has_role_for(request.user, obj, self.email_roles)

    def _context(self, request: HttpRequest) -> dict[str, Any]:
        """The admin's page context, for intermediate pages and the race pages."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        return {**self.admin_site.each_context(request), "opts": self.opts}

    @admin.action(description="Check in selected entries", permissions=["change"])
    def check_in(self, request: HttpRequest, queryset: QuerySet[Registration]) -> None:
        entries = list(queryset)
        done = sum(registration_check_in(registration=r, actor=request.user) for r in entries)
        self.message_user(request, f"{done} entry(ies) checked in.", messages.SUCCESS)
        if done < len(entries):
            self.message_user(
                request,
                f"{len(entries) - done} skipped: already checked in, or not confirmed.",
                messages.WARNING,
            )

    @admin.action(
        description="Assign bibs to the confirmed entries of these races", permissions=["change"]
    )
    def assign_bibs(self, request: HttpRequest, queryset: QuerySet[Registration]) -> None:
        races = Race.objects.filter(pk__in=queryset.values("race_id")).order_by("start_time")
        for race in races:
            try:
                count = bibs_assign(race=race, actor=request.user)
            except RegistrationError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, f"{race.name}: {count} bib(s) assigned.")

    def _export(
        self, request: HttpRequest, queryset: QuerySet[Registration], extension: str
    ) -> HttpResponse | None:
        if not queryset.exists():
            self.message_user(request, "Nothing to export.", messages.WARNING)
            return None
        build = exports.participants_csv if extension == "csv" else exports.participants_xlsx
        data = build(user=request.user, registrations=queryset)
        filename = f"participants-{timezone.localdate():%Y-%m-%d}.{extension}"
        return download(data, CSV if extension == "csv" else XLSX, filename)

    @admin.action(description="Export selected entries (CSV)", permissions=["view"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Registration]) -> Any:
        return self._export(request, queryset, "csv")

    @admin.action(description="Export selected entries (Excel)", permissions=["view"])
    def export_xlsx(self, request: HttpRequest, queryset: QuerySet[Registration]) -> Any:
        return self._export(request, queryset, "xlsx")

    def _selection(self, action: str, queryset: QuerySet[Registration]) -> list[tuple[str, Any]]:
        """The fields that post an intermediate page back to the same action."""
        ids = queryset.values_list("pk", flat=True)
        return [("action", action), *((ACTION_CHECKBOX_NAME, pk) for pk in ids)]

    @admin.action(description="E-mail selected participants", permissions=["email"])
    def email_selected(self, request: HttpRequest, queryset: QuerySet[Registration]) -> Any:
        return mass_email.mass_email_page(
            request,
            admin_context=self._context(request),
            registrations=queryset,
            title="E-mail the selected participants",
            back_url=request.get_full_path(),
            hidden=self._selection("email_selected", queryset),
        )

    @admin.action(
        description="Cancel selected entries (frees their places)", permissions=["cancel"]
    )
    def cancel_entries(self, request: HttpRequest, queryset: QuerySet[Registration]) -> Any:
        active = queryset.exclude(status=Registration.Status.CANCELLED).select_related("race")
        if request.POST.get("confirm") != "yes":
            context = {
                **self._context(request),
                "title": "Cancel entries",
                "entries": active,
                "hidden": self._selection("cancel_entries", queryset),
            }
            return TemplateResponse(
                request, "admin/events/registration/cancel_confirmation.html", context
            )
        entries = list(active)
        for entry in entries:
            registration_cancel(registration=entry, actor=request.user, by_organizer=True)
        self.message_user(request, f"{len(entries)} entry(ies) cancelled.", messages.SUCCESS)
        return None
