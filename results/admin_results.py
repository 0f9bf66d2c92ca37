"""Results in the back office: each computed race's state, its public pages and exports.

A row per race whose results were computed (its ``ResultsPublication``), scoped like
every organizer admin; the CSV and XLSX exports look the race up through
``results.exports``, which refuses another organizer's race whatever id is asked for.
Owners and admins of the organizer publish official results (``results.publishing``)
and change an athlete's result (``results.admin_edits``); its staff, who run the timing,
see and export them. A race's page lists its results and their audit trail.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import F, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from events.access import EDIT_ROLES, MANAGE_ROLES, has_role_for, scope_to_user
from events.admin_scoping import OrganizerScopedAdmin
from events.models import Event
from results.admin_edits import ResultEditsMixin, audit_rows
from results.editions import participation
from results.exports import results_csv, results_xlsx
from results.formatting import duration
from results.models import Result, ResultChange, ResultsPublication
from results.publishing import results_publish, results_unpublish

RESULTS_SHOWN = 100
PARTICIPATION_FIELDS = ("pk", "name", "slug", "start_date", "status", "previous_edition_id")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@admin.register(ResultsPublication)
class ResultsAdmin(ResultEditsMixin, OrganizerScopedAdmin):
    list_display = ["race", "event", "state", "published_at", "changed_at", "links"]
    list_select_related = ["race__event"]
    list_filter = ["state"]
    search_fields = ["race__name", "race__event__name"]
    ordering = ["-race__start_time"]
    fields = readonly_fields = ("race", "state", "published_at", "published_by", "changed_at")
    actions = ["publish", "unpublish"]
    publish_roles = MANAGE_ROLES

    def has_publish_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return has_role_for(request.user, obj, self.publish_roles)

    @admin.action(description="Publish official results", permissions=["publish"])
    def publish(self, request: HttpRequest, queryset: QuerySet[ResultsPublication]) -> None:
        """Official: computed afresh with the race over (no finish: DNF, no read: DNS)."""
        races = list(queryset.values_list("race_id", flat=True))
        for race_id in races:
            results_publish(race_id=race_id, by=request.user)
        done = f"Results of {len(races)} race(s) are official."
        self.message_user(request, done, messages.SUCCESS)

    @admin.action(description="Back to provisional", permissions=["publish"])
    def unpublish(self, request: HttpRequest, queryset: QuerySet[ResultsPublication]) -> None:
        races = list(queryset.values_list("race_id", flat=True))
        for race_id in races:
            results_unpublish(race_id=race_id, by=request.user)
        done = f"Results of {len(races)} race(s) are provisional."
        self.message_user(request, done, messages.SUCCESS)

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
            reverse("admin:results_export_csv", args=[race.pk]),
            reverse("admin:results_export_xlsx", args=[race.pk]),
        )

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        csv_view, xlsx_view = wrap(self.export_csv), wrap(self.export_xlsx)
        return [
            path("export/<int:race_id>/csv/", csv_view, name="results_export_csv"),
            path("export/<int:race_id>/xlsx/", xlsx_view, name="results_export_xlsx"),
            path("participation/", wrap(self.participation_view), name="results_participation"),
            *self.result_urls(),
            *super().get_urls(),
        ]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        """The race's state, then its results (each leading to its page) and its audit trail."""
        publication = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if publication is not None:
            race = publication.race
            results = Result.objects.filter(race=race).select_related("registration")
            query = request.GET.get("q", "").strip()[:100]
            if query:
                results = results.filter(
                    Q(registration__bib=query)
                    | Q(registration__last_name__icontains=query)
                    | Q(registration__first_name__icontains=query)
                )
            ordered = results.order_by(F("rank_overall").asc(nulls_last=True), "registration__bib")
            # A big race's results are found by bib or name: the page lists the first ones.
            extra["results"] = [
                (result, duration(result.time_ms)) for result in ordered[:RESULTS_SHOWN]
            ]
            extra["results_count"], extra["q"] = results.count(), query
            changes = ResultChange.objects.filter(race=race)
            extra["changes"] = audit_rows(changes, race.event.local_tz)
            extra["zone"] = race.event.local_tz
        return super().change_view(request, object_id, form_url, extra)

    def participation_view(self, request: HttpRequest) -> HttpResponse:
        """Entries, starters and finishers of each edition of the user's organizers'
        recurring events, by sex and category, with a chart per event."""
        events = scope_to_user(Event.objects.all(), request.user, EDIT_ROLES)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Participation over the years",
            "series": participation(events.only(*PARTICIPATION_FIELDS)),
        }
        return TemplateResponse(request, "admin/results/participation.html", context)

    def export_csv(self, request: HttpRequest, race_id: int) -> HttpResponse:
        """The race's results as CSV; a race of another organizer is a 404."""
        race, data = results_csv(user=request.user, race_id=race_id)
        return _download(
            data, "text/csv; charset=utf-8", f"results-{race.event.slug}-{race.slug}.csv"
        )

    def export_xlsx(self, request: HttpRequest, race_id: int) -> HttpResponse:
        race, data = results_xlsx(user=request.user, race_id=race_id)
        return _download(data, XLSX, f"results-{race.event.slug}-{race.slug}.xlsx")


def _download(data: bytes, content_type: str, name: str) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
