"""Results in the back office: each computed race's state, its public pages and exports.

A row per race whose results were computed (its ``ResultsPublication``), scoped like
every organizer admin; the CSV and XLSX exports look the race up through
``results.exports``, which refuses another organizer's race whatever id is asked for.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from events.admin_scoping import OrganizerScopedAdmin
from results.exports import results_csv, results_xlsx
from results.models import ResultsPublication

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@admin.register(ResultsPublication)
class ResultsAdmin(OrganizerScopedAdmin):
    list_display = ["race", "event", "state", "published_at", "changed_at", "links"]
    list_select_related = ["race__event"]
    list_filter = ["state"]
    search_fields = ["race__name", "race__event__name"]
    ordering = ["-race__start_time"]
    fields = readonly_fields = ("race", "state", "published_at", "published_by", "changed_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Event", ordering="race__event__name")
    def event(self, obj: ResultsPublication) -> str:
        return obj.race.event.name

    @admin.display(description="Results")
    def links(self, obj: ResultsPublication) -> str:
        race = obj.race
        return format_html(
            '<a href="{}">Page</a> · <a href="{}">Statistics</a> · '
            '<a href="{}">CSV</a> · <a href="{}">XLSX</a>',
            reverse("results:race", args=[race.event.slug, race.slug]),
            reverse("results:statistics", args=[race.event.slug, race.slug]),
            reverse("admin:results_export", args=[race.pk, "csv"]),
            reverse("admin:results_export", args=[race.pk, "xlsx"]),
        )

    def get_urls(self) -> list[URLPattern]:
        export = self.admin_site.admin_view(self.export_view)
        return [
            path("export/<int:race_id>.<str:fmt>", export, name="results_export"),
            *super().get_urls(),
        ]

    def export_view(self, request: HttpRequest, race_id: int, fmt: str) -> HttpResponse:
        """The race's results as a file; a race of another organizer is a 404."""
        if fmt == "csv":
            race, data = results_csv(user=request.user, race_id=race_id)
            content_type = "text/csv; charset=utf-8"
        elif fmt == "xlsx":
            race, data = results_xlsx(user=request.user, race_id=race_id)
            content_type = XLSX
        else:
            return HttpResponse("Ask for .csv or .xlsx", status=404, content_type="text/plain")
        response = HttpResponse(data, content_type=content_type)
        name = f"results-{race.event.slug}-{race.slug}.{fmt}"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
