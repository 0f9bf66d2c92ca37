"""The back office for entries: participants, check-in, bibs, start lists, exports, e-mail.

Also the admins of what shapes entries (price tiers, questions, discount codes)
and of teams and the waitlist. Every admin here is an ``OrganizerScopedAdmin``,
and every custom view resolves its race through ``scope_to_user`` and asks the
role it needs of that race's organizer.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from events import dashboard, exports, mass_email
from events.access import (
    EDIT_ROLES,
    MANAGE_ROLES,
    has_role_for,
    is_platform_staff,
    organizer_ids,
    scope_to_user,
)
from events.admin_scoping import OrganizerScopedAdmin, OrganizerScopedInline
from events.entry_changes import bib_set, bibs_assign, registration_cancel, registration_check_in
from events.models import (
    DiscountCode,
    PriceTier,
    Race,
    RaceQuestion,
    Registration,
    RegistrationChange,
    Team,
    WaitlistEntry,
)
from events.registration import HELD_STATUSES, RegistrationError
from events.waitlist import waitlist_offer_places
from payments.models import Payment

PAYMENT_LABELS = dict(Payment.Method.choices)
CSV, XLSX = "text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# --- Inlines of the race: price tiers and questions ---------------------------


class PriceTierInline(OrganizerScopedInline, admin.TabularInline):
    model = PriceTier
    extra = 0


class RaceQuestionForm(forms.ModelForm):
    class Meta:
        model = RaceQuestion
        fields = ["label", "kind", "choices", "required", "position"]
        widgets = {"choices": forms.Textarea(attrs={"rows": 2, "cols": 30})}

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        options = [line for line in data.get("choices", "").splitlines() if line.strip()]
        if data.get("kind") == RaceQuestion.Kind.CHOICE and not options:
            self.add_error("choices", "A choice question needs its options, one a line.")
        return data


class RaceQuestionInline(OrganizerScopedInline, admin.TabularInline):
    model = RaceQuestion
    form = RaceQuestionForm
    extra = 0


# --- Registrations ----------------------------------------------------------------


class RegistrationChangeInline(OrganizerScopedInline, admin.TabularInline):
    """The entry's history, written only by ``events.entry_changes``."""

    model = RegistrationChange
    fields = readonly_fields = ["created_at", "kind", "detail", "actor"]
    extra = 0
    can_delete = False
    verbose_name_plural = "history"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class CheckedInFilter(admin.SimpleListFilter):
    title = "checked in"
    parameter_name = "checked_in"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() in ("yes", "no"):
            return queryset.filter(checked_in_at__isnull=self.value() == "no")
        return queryset


class _RaceLabelledFilter(admin.RelatedOnlyFieldListFilter):
    """Races and categories present in the list, named with their race, in one query."""

    def field_choices(self, field: Any, request: HttpRequest, model_admin: Any) -> list[Any]:
        present = model_admin.get_queryset(request).values(f"{self.field_path}__pk")
        model = field.related_model
        related = "event" if model is Race else "race"
        choices = model._default_manager.filter(pk__in=present).select_related(related)
        if model is Race:
            return [(race.pk, str(race)) for race in choices.order_by("start_time", "name")]
        return [(c.pk, f"{c.race.name}: {c.name}") for c in choices.order_by("race", "code")]


class RegistrationForm(forms.ModelForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "category" in self.fields and self.instance.pk:
            field = self.fields["category"]
            field.queryset = field.queryset.filter(race_id=self.instance.race_id)

    def clean_bib(self) -> str:
        """Bibs are unique per event: say who has it, rather than fail on the constraint."""
        bib = self.cleaned_data["bib"].strip()
        clash = (
            Registration.objects.filter(event_id=self.instance.event_id, bib=bib)
            .exclude(pk=self.instance.pk)
            .select_related("race")
            .first()
            if bib
            else None
        )
        if clash is not None:
            raise forms.ValidationError(
                f"Bib {bib} is already taken in this event by {clash.name} ({clash.race.name})."
            )
        return bib


def _download(data: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@admin.register(Registration)
class RegistrationAdmin(OrganizerScopedAdmin):
    form = RegistrationForm
    change_list_template = "admin/events/registration/change_list.html"
    list_display = [
        "participant", "bib", "race_name", "category", "status", "payment", "checked_in",
        "created_at",
    ]  # fmt: skip
    list_select_related = ["race__event", "category"]
    list_filter = [
        "event",
        ("race", _RaceLabelledFilter),
        "status",
        ("category", _RaceLabelledFilter),
        CheckedInFilter,
    ]
    search_fields = ["first_name", "last_name", "email", "=bib", "club"]
    actions = [
        "check_in", "assign_bibs", "export_csv", "export_xlsx", "email_selected", "cancel_entries",
    ]  # fmt: skip
    inlines = [RegistrationChangeInline]
    readonly_fields = [
        "race", "status", "team", "answers_list", "list_price", "discount_code", "price",
        "currency", "payment", "waiver_accepted_at", "checked_in_at", "cancelled_at",
        "created_at",
    ]  # fmt: skip
    fieldsets = [
        ("Entry", {"fields": ["race", "status", "bib", "category", "team"]}),
        ("Athlete", {"fields": [
            "first_name", "last_name", "email", "birth_date", "sex", "nationality", "club",
            "tshirt_size",
        ]}),
        ("Emergency contact", {"fields": ["emergency_name", "emergency_phone"]}),
        ("Answers", {"fields": ["answers_list"]}),
        ("Payment", {"fields": [
            "list_price", "discount_code", "price", "currency", "payment",
        ]}),
        ("Dates", {"fields": [
            "created_at", "waiver_accepted_at", "checked_in_at", "cancelled_at",
        ]}),
    ]  # fmt: skip

    @admin.display(description="Name", ordering="last_name")
    def participant(self, obj: Registration) -> str:
        return obj.name

    @admin.display(description="Race", ordering="race__start_time")
    def race_name(self, obj: Registration) -> str:
        """The race's own name keeps the list narrow; its event shows on hover and in filters."""
        return format_html('<span title="{}">{}</span>', obj.race.event.name, obj.race.name)

    @admin.display(description="Payment", ordering="payment_method")
    def payment(self, obj: Registration) -> str:
        """How the entry is paid, and what was given back (a refund leaves the entry as it was)."""
        method = PAYMENT_LABELS.get(obj.payment_method, obj.payment_method)
        refunded = getattr(obj, "refunded", None)
        return f"{method} · {refunded:.2f} {obj.currency} refunded" if refunded else method

    def get_queryset(self, request: HttpRequest) -> QuerySet[Registration]:
        refunds = (
            Payment.objects.filter(registration=OuterRef("pk"), refunded_amount__gt=0)
            .values("registration")
            .annotate(total=Sum("refunded_amount"))
            .values("total")
        )
        return super().get_queryset(request).annotate(refunded=Subquery(refunds))

    @admin.display(description="Checked in", boolean=True, ordering="checked_in_at")
    def checked_in(self, obj: Registration) -> bool:
        return obj.checked_in_at is not None

    @admin.display(description="Answers")
    def answers_list(self, obj: Registration) -> str:
        labels = {str(q.pk): q.label for q in obj.race.questions.all()}
        rows = [
            (labels.get(key, f"Deleted question #{key}"), exports.YES_NO.get(value, value))
            for key, value in obj.answers.items()
        ]
        if not rows:
            return "-"
        return format_html(
            "<table>{}</table>", format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows)
        )

    # Staff check in, number and export; cancelling entries and writing to everyone in
    # the organizer's name are for its owners and admins.
    cancel_roles = MANAGE_ROLES
    email_roles = mass_email.SENDER_ROLES

    # Entries are taken through the entry form (price, capacity) and cancelled, never deleted.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_cancel_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return has_role_for(request.user, obj, self.cancel_roles)

    def has_email_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return has_role_for(request.user, obj, self.email_roles)

    def save_model(self, request: HttpRequest, obj: Registration, form: Any, change: bool) -> None:
        """A new bib goes through ``bib_set``, which records it in the entry's history."""
        bib = obj.bib
        if "bib" in form.changed_data:
            obj.bib = form.initial.get("bib", "")
        super().save_model(request, obj, form, change)
        if "bib" not in form.changed_data:
            return
        try:
            bib_set(registration=obj, bib=bib, actor=request.user)
        except RegistrationError as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            obj.bib = bib

    # --- Views of one race, and the dashboard ------------------------------------

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("dashboard/", wrap(self.dashboard_view), name="events_registration_dashboard"),
            path(
                "start-list/<int:race_id>/",
                wrap(self.start_list_view),
                name="events_registration_start_list",
            ),
            path("email/<int:race_id>/", wrap(self.email_view), name="events_registration_email"),
            *super().get_urls(),
        ]

    def _context(self, request: HttpRequest) -> dict[str, Any]:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return {**self.admin_site.each_context(request), "opts": self.opts}

    def _race(self, request: HttpRequest, race_id: int, roles: frozenset[str]) -> Race:
        """The race of the URL: 404 unless the user may see it, 403 without ``roles`` there."""
        race = get_object_or_404(
            scope_to_user(Race.objects.select_related("event"), request.user), pk=race_id
        )
        if not has_role_for(request.user, race, roles):
            raise PermissionDenied
        return race

    def dashboard_view(self, request: HttpRequest) -> HttpResponse:
        # The e-mail link shows only on races the user may write to (None: all of them).
        emailable = (
            None
            if is_platform_staff(request.user)
            else set(organizer_ids(request.user, self.email_roles))
        )
        context = {**self._context(request), "email_organizer_ids": emailable}
        return dashboard.dashboard_view(request, admin_context=context)

    def start_list_view(self, request: HttpRequest, race_id: int) -> HttpResponse:
        context = self._context(request)
        race = self._race(request, race_id, self.view_roles)
        if request.GET.get("format") == "csv":
            data = exports.table_csv(exports.start_list_table(user=request.user, race=race))
            return _download(data, CSV, f"start-list-{race.event.slug}-{race.slug}.csv")
        context.update(
            title=f"Start list: {race}",
            race=race,
            entries=exports.start_list(user=request.user, race=race),
        )
        return TemplateResponse(request, "admin/events/registration/start_list.html", context)

    def email_view(self, request: HttpRequest, race_id: int) -> HttpResponse:
        context = self._context(request)
        race = self._race(request, race_id, self.email_roles)
        return mass_email.race_email_view(request, race.pk, admin_context=context)

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        """Filtered on one race, the list links to its start list and e-mail form."""
        race_id = request.GET.get("race__id__exact", "")
        race = None
        if race_id.isdecimal():  # isdigit() also takes '²', which int() refuses
            race = scope_to_user(Race.objects.all(), request.user).filter(pk=race_id).first()
        extra = {
            **(extra_context or {}),
            "filtered_race": race,
            "can_email_race": race is not None and self.has_email_permission(request, race),
        }
        return super().changelist_view(request, extra)

    # --- Actions ----------------------------------------------------------------------

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
        return _download(data, CSV if extension == "csv" else XLSX, filename)

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


# --- Teams and the waitlist ------------------------------------------------------------


class TeamMemberInline(OrganizerScopedInline, admin.TabularInline):
    model = Registration
    fields = readonly_fields = ["first_name", "last_name", "bib", "status", "email"]
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
class WaitlistEntryAdmin(OrganizerScopedAdmin):
    """Read-only: people join themselves; places are offered by ``events.waitlist``."""

    list_display = ["name", "email", "race", "status", "offer_expires_at", "created_at"]
    list_filter = ["race", "status"]
    list_select_related = ["race__event"]
    search_fields = ["name", "email"]
    exclude = ["offer_token", "user"]
    actions = ["offer_places"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

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


# --- Discount codes ------------------------------------------------------------------------


class DiscountCodeForm(forms.ModelForm):
    class Meta:
        model = DiscountCode
        fields = ["event", "race", "code", "kind", "amount", "max_uses", "valid_until", "active"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        event, race, code = data.get("event"), data.get("race"), data.get("code", "")
        if event and race and race.event_id != event.pk:
            self.add_error("race", "This race is not part of the chosen event.")
        if data.get("kind") == DiscountCode.Kind.PERCENT and (data.get("amount") or 0) > 100:
            self.add_error("amount", "A percentage is at most 100.")
        # Athletes type codes in any case, so codes differing only in case would clash.
        same = DiscountCode.objects.filter(event=event, code__iexact=code.strip())
        if event and code and same.exclude(pk=self.instance.pk).exists():
            self.add_error("code", "This event already has this code.")
        return data


@admin.register(DiscountCode)
class DiscountCodeAdmin(OrganizerScopedAdmin):
    form = DiscountCodeForm
    list_display = [
        "code", "event", "race", "kind", "amount", "used", "max_uses", "valid_until", "active",
    ]  # fmt: skip
    list_filter = ["event", "active", "kind"]
    list_select_related = ["event", "race__event"]
    search_fields = ["code"]
    ordering = ["event__start_date", "code"]
    autocomplete_fields = ["event", "race"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[DiscountCode]:
        # Held entries (unpaid, e-mail unconfirmed) use their code, as pricing counts it.
        taken = Q(uses__status__in=[*HELD_STATUSES, Registration.Status.CONFIRMED])
        return super().get_queryset(request).annotate(n_used=Count("uses", filter=taken))

    @admin.display(description="Used", ordering="n_used")
    def used(self, obj: DiscountCode) -> int:
        return obj.n_used  # type: ignore[attr-defined]
