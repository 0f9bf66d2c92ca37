"""The entry form: the athlete's details, the race's questions and the waiver."""

from __future__ import annotations

from typing import Any

from django import forms

from events.models import Race, RaceQuestion, Registration
from events.registration import ENTRY_FIELDS

QUESTION_PREFIX = "q_"


class EntryForm(forms.ModelForm):
    waiver = forms.BooleanField(required=True, label="I accept the waiver above")

    class Meta:
        model = Registration
        fields = list(ENTRY_FIELDS)
        widgets = {"birth_date": forms.DateInput(attrs={"type": "date"})}

    def __init__(self, *args: Any, race: Race, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.race = race
        for question in race.questions.all():
            self.fields[f"{QUESTION_PREFIX}{question.pk}"] = self._question_field(question)
        self.order_fields([*ENTRY_FIELDS, *self._question_names(), "waiver"])

    def _question_names(self) -> list[str]:
        return [name for name in self.fields if name.startswith(QUESTION_PREFIX)]

    @staticmethod
    def _question_field(question: RaceQuestion) -> forms.Field:
        common = {"label": question.label, "required": question.required}
        if question.kind == RaceQuestion.Kind.CHOICE:
            options = [("", "-")] + [(o, o) for o in question.options]
            return forms.ChoiceField(choices=options, **common)
        if question.kind == RaceQuestion.Kind.YES_NO:
            return forms.TypedChoiceField(
                choices=[("", "-"), ("yes", "Yes"), ("no", "No")], **common
            )
        return forms.CharField(max_length=500, **common)

    def answers(self) -> dict[str, Any]:
        return {
            name.removeprefix(QUESTION_PREFIX): self.cleaned_data.get(name)
            for name in self._question_names()
        }
