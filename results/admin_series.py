"""Series and stage races in the back office, scoped per organizer like the rest.

Standings are computed, never typed: saving a series (its rules or races) recomputes
them, and an action recomputes them on demand.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest

from events.admin_scoping import OrganizerScopedAdmin, OrganizerScopedInline
from results.models import Series, SeriesRace, Stage, StagePoint, StageRace
from results.series.recompute import series_recompute


class SeriesRaceInline(OrganizerScopedInline, admin.TabularInline):  # type: ignore[type-arg]
    model = SeriesRace
    extra = 1
    verbose_name = "counted race"
    verbose_name_plural = "counted races"


@admin.register(Series)
class SeriesAdmin(OrganizerScopedAdmin):
    list_display = ["name", "organizer", "scoring", "best_of", "is_public", "computed_at"]
    list_filter = ["organizer", "is_public"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    fields = [
        "organizer", "name", "slug", "description", "is_public", "scoring", "points_table",
        "formula_n", "best_of", "tie_breaks", "computed_at",
    ]  # fmt: skip
    readonly_fields = ["computed_at"]
    inlines = [SeriesRaceInline]
    actions = ["recompute"]

    def save_related(
        self, request: HttpRequest, form: ModelForm[Any], formsets: Any, change: bool
    ) -> None:
        super().save_related(request, form, formsets, change)
        series_recompute(series_id=form.instance.pk)

    @admin.action(description="Recompute standings", permissions=["change"])
    def recompute(self, request: HttpRequest, queryset: QuerySet[Series]) -> None:
        for series_id in queryset.values_list("pk", flat=True):
            series_recompute(series_id=series_id)
        self.message_user(request, "Standings recomputed.", messages.SUCCESS)


class StageInline(OrganizerScopedInline, admin.TabularInline):  # type: ignore[type-arg]
    model = Stage
    extra = 1
    show_change_link = True


@admin.register(StageRace)
class StageRaceAdmin(OrganizerScopedAdmin):
    list_display = ["event", "team_riders"]
    list_select_related = ["event"]
    search_fields = ["event__name"]
    fields = ["event", "finish_bonuses_s", "finish_points", "team_riders"]
    inlines = [StageInline]


class StagePointInline(OrganizerScopedInline, admin.TabularInline):  # type: ignore[type-arg]
    model = StagePoint
    extra = 1
    verbose_name = "sprint or climb"
    verbose_name_plural = "sprints and climbs"


@admin.register(Stage)
class StageAdmin(OrganizerScopedAdmin):
    list_display = ["__str__", "race", "stage_race"]
    list_select_related = ["race__event", "stage_race__event"]
    list_filter = ["stage_race"]
    fields = ["stage_race", "number", "race"]
    inlines = [StagePointInline]
