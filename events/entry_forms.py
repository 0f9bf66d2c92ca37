"""Entry forms: the athlete's details, team-mates, the race's questions, the waiver."""

from __future__ import annotations

from typing import Any

from django import forms

from events.models import Race, RaceQuestion, Registration, WaitlistEntry
from events.models.entries import EARLIEST_BIRTH_DATE
from events.registration import ENTRY_FIELDS

QUESTION_PREFIX = "q_"
BIRTH_DATE_INPUT = forms.DateInput(attrs={"type": "date", "min": EARLIEST_BIRTH_DATE.isoformat()})


class EntryForm(forms.ModelForm):
    code = forms.CharField(required=False, max_length=40, label="Discount code")
    team_name = forms.CharField(required=False, max_length=100, label="Team name")
    waiver = forms.BooleanField(required=True, label="I accept the waiver above")

    class Meta:
        model = Registration
        fields = list(ENTRY_FIELDS)
        widgets = {"birth_date": BIRTH_DATE_INPUT}

    def __init__(self, *args: Any, race: Race, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.race = race
        if race.team_size > 1:
            self.fields["team_name"].required = True
        else:
            del self.fields["team_name"]
        for question in race.questions.all():
            self.fields[f"{QUESTION_PREFIX}{question.pk}"] = self._question_field(question)
        order = ["team_name", *ENTRY_FIELDS, *self._question_names(), "code", "waiver"]
        self.order_fields(order)

    def _question_names(self) -> list[str]:
        return [name for name in self.fields if name.startswith(QUESTION_PREFIX)]

    @staticmethod
    def _question_field(question: RaceQuestion) -> forms.Field:
        common: dict[str, Any] = {"label": question.label, "required": question.required}
        if question.kind == RaceQuestion.Kind.CHOICE:
            options = [("", "-")] + [(o, o) for o in question.options]
            return forms.ChoiceField(choices=options, **common)
        if question.kind == RaceQuestion.Kind.YES_NO:
            return forms.ChoiceField(choices=[("", "-"), ("yes", "Yes"), ("no", "No")], **common)
        return forms.CharField(max_length=500, **common)

    def answers(self) -> dict[str, Any]:
        return {
            name.removeprefix(QUESTION_PREFIX): self.cleaned_data.get(name)
            for name in self._question_names()
        }


class TeammateForm(forms.ModelForm):
    class Meta:
        model = Registration
        fields = ["first_name", "last_name", "birth_date", "sex", "email"]
        widgets = {"birth_date": BIRTH_DATE_INPUT}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["email"].required = False
        self.empty_permitted = False
        self.use_required_attribute = False


def teammate_formset(race: Race, data: Any = None) -> forms.BaseFormSet:
    """One form per team-mate (the team's size minus the payer)."""
    count = max(0, race.team_size - 1)
    formset_class = forms.formset_factory(
        TeammateForm, extra=count, min_num=count, max_num=count, validate_min=True,
        validate_max=True,
    )  # fmt: skip
    # A solo race has no team-mates, so its form carries no management form to bind.
    return formset_class(data if count else None, prefix="mate")


class WaitlistForm(forms.ModelForm):
    class Meta:
        model = WaitlistEntry
        fields = ["name", "email"]


class TransferForm(EntryForm):
    """The new athlete's details when an entry is passed on."""

    def __init__(self, *args: Any, race: Race, **kwargs: Any) -> None:
        super().__init__(*args, race=race, **kwargs)
        for name in ("code", "team_name"):
            self.fields.pop(name, None)
