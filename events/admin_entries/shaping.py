"""What shapes entries: a race's price tiers and questions, and discount codes."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest

from events.admin_scoping import OrganizerScopedAdmin, OrganizerScopedInline
from events.models import DiscountCode, PriceTier, RaceQuestion, Registration
from events.registration import HELD_STATUSES

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
        super().clean()  # returns cleaned_data, typed as maybe None
        data = self.cleaned_data
        options = [line for line in data.get("choices", "").splitlines() if line.strip()]
        if data.get("kind") == RaceQuestion.Kind.CHOICE and not options:
            self.add_error("choices", "A choice question needs its options, one a line.")
        return data


class RaceQuestionInline(OrganizerScopedInline, admin.TabularInline):
    model = RaceQuestion
    form = RaceQuestionForm
    extra = 0


# --- Discount codes ------------------------------------------------------------------------


class DiscountCodeForm(forms.ModelForm):
    class Meta:
        model = DiscountCode
        fields = ["event", "race", "code", "kind", "amount", "max_uses", "valid_until", "active"]

    def clean(self) -> dict[str, Any]:
        super().clean()  # returns cleaned_data, typed as maybe None
        data = self.cleaned_data
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
