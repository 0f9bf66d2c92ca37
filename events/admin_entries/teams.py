"""Teams and the waitlist: read mostly, as athletes make both themselves."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from events.access import EDIT_ROLES, has_role_for
from events.admin_scoping import OrganizerScopedAdmin, OrganizerScopedInline, ReadOnlyScopedAdmin
from events.models import Race, Registration, Team, WaitlistEntry
from events.waitlist import waitlist_offer_places


class TeamMemberInline(OrganizerScopedInline, admin.TabularInline):
    model = Registration
    fields = readonly_fields = ("first_name", "last_name", "bib", "status", "email")
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = "members"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Team)
class TeamAdmin(OrganizerScopedAdmin):
    list_display = ["name", "race", "member_count", "created_at"]
    list_filter = ["race"]
    list_select_related = ["race__event"]
    search_fields = ["name", "members__last_name"]
    fields = ["name", "race"]
    readonly_fields = ["race"]
    inlines = [TeamMemberInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Team]:
        return super().get_queryset(request).annotate(n_members=Count("members"))

    @admin.display(description="Members", ordering="n_members")
    def member_count(self, obj: Team) -> int:
        return obj.n_members  # type: ignore[attr-defined]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(ReadOnlyScopedAdmin):
    """Read-only: people join themselves; places are offered by ``events.waitlist``."""

    list_display = ["name", "email", "race", "status", "offer_expires_at", "created_at"]
    list_filter = ["race", "status"]
    list_select_related = ["race__event"]
    search_fields = ["name", "email"]
    exclude = ["offer_token", "user"]
    actions = ["offer_places"]

    offer_roles = EDIT_ROLES

    def has_offer_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return has_role_for(request.user, obj, self.offer_roles)

    @admin.action(description="Offer the free places of these races now", permissions=["offer"])
    def offer_places(self, request: HttpRequest, queryset: QuerySet[WaitlistEntry]) -> None:
        for race in Race.objects.filter(pk__in=queryset.values("race_id")).order_by("start_time"):
            offered = waitlist_offer_places(race_id=race.pk)
            if offered:
                self.message_user(request, f"{race.name}: {len(offered)} place(s) offered.")
            else:
                self.message_user(
                    request, f"{race.name}: no free place, or nobody waiting.", messages.WARNING
                )
