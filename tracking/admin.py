"""Live tracking in the back office: posts (hide one), trackers, kudos; scoped per organizer."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from events.admin_scoping import OrganizerScopedAdmin
from tracking.models import Post, Tracker
from tracking.posts import posts_set_hidden
from tracking.trackers import trackers_revoke


@admin.register(Post)
class PostAdmin(OrganizerScopedAdmin):
    list_display = ["text", "registration", "race", "created_at", "hidden"]
    list_filter = ["hidden"]
    search_fields = ["text", "registration__last_name", "registration__bib"]
    readonly_fields = ["race", "registration", "text", "created_at"]
    fields = ["race", "registration", "text", "created_at", "hidden"]
    actions = ["hide", "show"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # athletes post from their phones

    def save_model(self, request: HttpRequest, obj: Post, form: Any, change: bool) -> None:
        posts_set_hidden(posts=Post.objects.filter(pk=obj.pk), hidden=obj.hidden)

    @admin.action(description="Hide from spectators")
    def hide(self, request: HttpRequest, queryset: QuerySet[Post]) -> None:
        count = posts_set_hidden(posts=queryset, hidden=True)
        self.message_user(request, f"{count} post(s) hidden.", messages.SUCCESS)

    @admin.action(description="Show to spectators")
    def show(self, request: HttpRequest, queryset: QuerySet[Post]) -> None:
        count = posts_set_hidden(posts=queryset, hidden=False)
        self.message_user(request, f"{count} post(s) shown.", messages.SUCCESS)


@admin.register(Tracker)
class TrackerAdmin(OrganizerScopedAdmin):
    list_display = ["registration", "device_id", "kudos", "revoked_at"]
    search_fields = ["registration__last_name", "registration__bib", "device_id"]
    readonly_fields = ["registration", "token", "kudos", "created_at", "revoked_at"]
    fields = ["registration", "device_id", "token", "kudos", "created_at", "revoked_at"]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Revoke tracking tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[Tracker]) -> None:
        count = trackers_revoke(trackers=queryset)
        self.message_user(request, f"{count} token(s) revoked.", messages.SUCCESS)
