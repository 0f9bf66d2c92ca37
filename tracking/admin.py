"""Live tracking in the back office: posts (hide one), trackers, kudos; scoped per organizer."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from events.admin_scoping import OrganizerScopedAdmin
from tracking.fanout.posts import posts_set_hidden
from tracking.ingest.devices import devices_forget_on_commit
from tracking.ingest.trackers import TrackerError, clean_device_id, trackers_revoke
from tracking.models import Post, Tracker


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

    @admin.action(description="Hide from spectators", permissions=["change"])
    def hide(self, request: HttpRequest, queryset: QuerySet[Post]) -> None:
        count = posts_set_hidden(posts=queryset, hidden=True)
        self.message_user(request, f"{count} post(s) hidden.", messages.SUCCESS)

    @admin.action(description="Show to spectators", permissions=["change"])
    def show(self, request: HttpRequest, queryset: QuerySet[Post]) -> None:
        count = posts_set_hidden(posts=queryset, hidden=False)
        self.message_user(request, f"{count} post(s) shown.", messages.SUCCESS)


class TrackerForm(forms.ModelForm):
    """An organizer may type an athlete's device id: the athlete's rules hold (no guessable id)."""

    class Meta:
        model = Tracker
        fields = ["device_id"]

    def clean_device_id(self) -> str | None:
        raw = self.cleaned_data.get("device_id")
        if not raw:
            return None
        try:
            return clean_device_id(raw)
        except TrackerError as exc:
            raise forms.ValidationError(str(exc)) from None


@admin.register(Tracker)
class TrackerAdmin(OrganizerScopedAdmin):
    form = TrackerForm
    list_display = ["registration", "device_id", "kudos", "revoked_at"]
    search_fields = ["registration__last_name", "registration__bib", "device_id"]
    readonly_fields = ["registration", "token", "kudos", "created_at", "revoked_at"]
    fields = ["registration", "device_id", "token", "kudos", "created_at", "revoked_at"]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Tracker, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        # Every process stops taking fixes from the id typed over at once, not in 30 s.
        devices_forget_on_commit(device_ids=[form.initial.get("device_id"), obj.device_id])

    @admin.action(description="Revoke tracking tokens", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[Tracker]) -> None:
        count = trackers_revoke(trackers=queryset)
        self.message_user(request, f"{count} token(s) revoked.", messages.SUCCESS)
