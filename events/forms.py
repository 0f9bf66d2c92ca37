"""Public forms: the marketplace search and the organizer sign-up."""

from __future__ import annotations

from typing import Any

from django import forms
from django_countries import countries

from events.models import Sport
from pace.lib.widgets import PlainSelect


def _country_choices() -> list[tuple[str, str]]:
    # A callable: the names are read in the active language when the form is rendered,
    # rather than ~250 choices normalised again for every form built.
    return [("", "Any country"), *countries]


class EventSearchForm(forms.Form):
    """Marketplace filters; every field optional, every value validated."""

    q = forms.CharField(required=False, max_length=100, label="Search")
    sport = forms.ChoiceField(required=False, choices=[("", "Any sport"), *Sport.choices])
    country = forms.ChoiceField(required=False, choices=_country_choices, widget=PlainSelect)
    place = forms.CharField(required=False, max_length=100)
    date_from = forms.DateField(
        required=False, label="From", widget=forms.DateInput({"type": "date"})
    )
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput({"type": "date"}))
    distance_min = forms.FloatField(required=False, min_value=0, max_value=2000, label="Min km")
    distance_max = forms.FloatField(required=False, min_value=0, max_value=2000, label="Max km")
    page = forms.IntegerField(required=False, min_value=1, max_value=10_000)

    def clean(self) -> dict[str, Any]:
        super().clean()  # returns cleaned_data, typed as maybe None
        data = self.cleaned_data
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            self.add_error("date_to", "The end date is before the start date.")
        lo, hi = data.get("distance_min"), data.get("distance_max")
        if lo is not None and hi is not None and hi < lo:
            self.add_error("distance_max", "The maximum distance is below the minimum.")
        return data


class OrganizerSignupForm(forms.Form):
    name = forms.CharField(max_length=200, label="Organizer name")
    country = forms.ChoiceField(choices=[("", "Choose a country"), *countries], widget=PlainSelect)
    contact_email = forms.EmailField()
    website = forms.URLField(required=False)
