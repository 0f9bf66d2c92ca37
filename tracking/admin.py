"""Live tracking in the back office: posts (hide one), trackers, kudos; scoped per organizer."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from events.admin_scoping import OrganizerScopedAdmin, OrganizerScopedInline
from events.models import Race
from tracking.control.actions import race_refresh
from tracking.fanout.posts import posts_set_hidden
from tracking.ingest.devices import devices_forget_on_commit
from tracking.ingest.trackers import TrackerError, clean_device_id, trackers_revoke
from tracking.models import (
    DEVICE_ID_MAX,
    Position,
    Post,
    RaceControl,
    RaceSafety,
    Tracker,
    secret_digest,
)


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
    """An organizer may type an athlete's device id: the athlete's rules hold (no guessable id).

    The linked id is a credential and is never shown here (only its hint): the box is empty,
    an id typed replaces it, "unlink" removes it, and leaving both alone keeps it."""

    device_id = forms.CharField(
        required=False,
        max_length=DEVICE_ID_MAX,
        label="New device identifier",
        help_text="Typed into OsmAnd or Traccar Client. Leave empty to keep the linked one.",
    )
    unlink_device = forms.BooleanField(required=False, label="Unlink the device")

    class Meta:
        model = Tracker
        fields: list[str] = []

    def clean_device_id(self) -> str | None:
        raw = self.cleaned_data.get("device_id")
        if not raw:
            return None
        try:
            return clean_device_id(raw)
        except TrackerError as exc:
            raise forms.ValidationError(str(exc)) from None

    def save(self, commit: bool = True) -> Tracker:
        typed = self.cleaned_data.get("device_id")
        if typed:
            self.instance.device_id = typed
        elif self.cleaned_data.get("unlink_device"):
            self.instance.device_id = None
        return super().save(commit=commit)


@admin.register(Tracker)
class TrackerAdmin(OrganizerScopedAdmin):
    form = TrackerForm
    list_display = ["registration", "device", "status", "last_fix", "kudos", "revoked_at"]
    search_fields = ["registration__last_name", "registration__bib"]
    list_select_related = ["registration"]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Tracker], search_term: str
    ) -> tuple[QuerySet[Tracker], bool]:
        """Names and bibs as usual; a whole device id or token finds its tracker by digest."""
        found, duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term:
            digest = secret_digest(term)
            found |= queryset.filter(Q(device_digest=digest) | Q(token_digest=digest))
        return found, duplicates

    @admin.display(description="device")
    def device(self, obj: Tracker) -> str:
        return f"{obj.device_hint}…" if obj.device_hint else "-"

    @admin.display(description="token")
    def token(self, obj: Tracker) -> str:
        return f"{obj.token_hint}…"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tracker]:
        last = Position.objects.filter(registration=OuterRef("registration")).order_by("-t")
        return super().get_queryset(request).annotate(last_fix_at=Subquery(last.values("t")[:1]))

    @admin.display(description="last fix", ordering="last_fix_at")
    def last_fix(self, obj: Tracker) -> str:
        at = getattr(obj, "last_fix_at", None)
        return "-" if at is None else timezone.localtime(at).strftime("%Y-%m-%d %H:%M:%S")

    @admin.display(description="status")
    def status(self, obj: Tracker) -> str:
        """Revoked, no fix yet, live (a fix within the lost-signal time) or silent since."""
        if obj.revoked_at is not None:
            return "Revoked"
        at = getattr(obj, "last_fix_at", None)
        if at is None:
            return "No fix yet" if obj.device_digest else "No fix yet (no device linked)"
        silent = timezone.now() - at
        if silent <= dt.timedelta(seconds=settings.TRACKING_LOST_SIGNAL_SECONDS):
            return "Live"
        minutes = int(silent.total_seconds() // 60)
        if minutes < 120:
            return f"Silent for {minutes} min"
        return f"Silent for {minutes // 60} h"

    readonly_fields = ["registration", "device", "token", "kudos", "created_at", "revoked_at"]
    fields = [
        "registration",
        "device",
        "device_id",
        "unlink_device",
        "token",
        "kudos",
        "created_at",
        "revoked_at",
    ]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Tracker, form: Any, change: bool) -> None:
        # Every process stops taking fixes from the id typed over at once, not in 30 s.
        previous = list(Tracker.objects.filter(pk=obj.pk).values_list("device_digest", flat=True))
        super().save_model(request, obj, form, change)
        devices_forget_on_commit(digests=[*previous, obj.device_digest])

    @admin.action(description="Revoke tracking tokens", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[Tracker]) -> None:
        count = trackers_revoke(trackers=queryset)
        self.message_user(request, f"{count} token(s) revoked.", messages.SUCCESS)


class RaceSafetyInline(OrganizerScopedInline, admin.StackedInline):
    model = RaceSafety
    extra = 1
    max_num = 1
    can_delete = False
    verbose_name = "safety settings"


@admin.register(RaceControl)
class RaceControlAdmin(OrganizerScopedAdmin):
    """Races, each leading to its race control page; the change page holds the race's
    safety settings (thresholds of the alerts, contacts e-mailed)."""

    list_display = ["name", "event", "start_time", "open_control", "safety_settings"]
    list_select_related = ["event", "safety"]
    search_fields = ["name", "event__name"]
    ordering = ["-start_time"]
    fields = ["name", "event", "start_time", "open_control"]
    readonly_fields = ["name", "event", "start_time", "open_control"]
    inlines = [RaceSafetyInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        race_refresh(form.instance.pk)  # new thresholds from the ticker's next tick

    @admin.display(description="Race control")
    def open_control(self, obj: Race) -> str:
        url = reverse("tracking:control", args=[obj.event.slug, obj.slug])
        return format_html('<a href="{}">Open race control</a>', url)

    @admin.display(description="Safety settings")
    def safety_settings(self, obj: Race) -> str:
        settings_of = getattr(obj, "safety", None)
        if settings_of is None:
            return "Defaults, no contact"
        contacts = len(settings_of.contact_list())
        return (
            f"Off course {settings_of.off_course_m} m, stopped {settings_of.stopped_minutes} min, "
            f"lost {settings_of.lost_minutes} min, {contacts} contact{'s' if contacts != 1 else ''}"
        )
