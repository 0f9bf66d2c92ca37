"""The participants list and an entry's page, and the pages of one race: its start
list, its e-mail form, and the dashboard of every race."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.html import format_html, format_html_join

from events import dashboard, exports, mass_email, payment_providers
from events.access import has_role_for, is_platform_staff, organizer_ids, scope_to_user
from events.admin_entries.registration_actions import CSV, RegistrationActions, download
from events.admin_scoping import OrganizerScopedInline
from events.entry_changes import bib_set
from events.models import Race, Registration, RegistrationChange
from events.registration import RegistrationError


class RegistrationChangeInline(OrganizerScopedInline, admin.TabularInline):
    """The entry's history, written only by ``events.entry_changes``."""

    model = RegistrationChange
    fields = readonly_fields = ("created_at", "kind", "detail", "actor")
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
            # A foreign key's model form field: the stubs know only forms.Field.
            field = cast("forms.ModelChoiceField[Any]", self.fields["category"])
            assert field.queryset is not None  # the admin gave it the scoped categories
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


@admin.register(Registration)
class RegistrationAdmin(RegistrationActions):
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
        method = payment_providers.get().method_label(obj.payment_method)
        refunded = getattr(obj, "refunded", None)
        return f"{method} · {refunded:.2f} {obj.currency} refunded" if refunded else method

    def get_queryset(self, request: HttpRequest) -> QuerySet[Registration]:
        return payment_providers.get().with_refunded(super().get_queryset(request))

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

    # Entries are taken through the entry form (price, capacity) and cancelled, never deleted.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

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
            return download(data, CSV, f"start-list-{race.event.slug}-{race.slug}.csv")
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
