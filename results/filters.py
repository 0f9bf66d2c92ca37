"""The filters of a race's results page (search, category, sex, sort, page), each checked.

A value the page cannot use is answered with a 400 and the reason, as the marketplace's
filters are: dropped silently, ``?sex=Q`` showed everyone and ``?category=<x>`` nobody,
under a heading that said the list was filtered.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms

from events.models import RaceCategory, Registration
from results.tables import SORTS

SORT_KEYS = [*SORTS, *(f"-{key}" for key in SORTS)]
SEARCH_CHARS = 100


class ResultsFilters(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=SEARCH_CHARS)
    category = forms.ChoiceField(label="Category", required=False)
    sex = forms.ChoiceField(
        label="Sex", required=False, choices=[("", "All"), *Registration.Sex.choices]
    )
    sort = forms.ChoiceField(
        label="Sort", required=False, choices=[("", "Rank"), *((k, k) for k in SORT_KEYS)]
    )
    page = forms.IntegerField(label="Page", required=False, min_value=1)

    def __init__(self, data: Any, *, categories: Iterable[RaceCategory]) -> None:
        super().__init__(data)
        field = self.fields["category"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "All categories"), *((c.code, c.name) for c in categories)]

    def filters(self) -> dict[str, str]:
        """What ``tables.results_listing`` filters and sorts by (after ``is_valid``)."""
        data = self.cleaned_data
        return {
            "q": data["q"],
            "category": data["category"],
            "sex": data["sex"],
            "sort": data["sort"] or "rank",
        }

    def shown(self) -> dict[str, str]:
        """The values as typed, for the form shown again beside the reasons."""
        return {
            "q": str(self.data.get("q", ""))[:SEARCH_CHARS],
            "category": str(self.data.get("category", "")),
            "sex": str(self.data.get("sex", "")),
            "sort": "rank",
        }

    def reasons(self) -> list[str]:
        """Each refused value's reason, with its filter's name."""
        return [
            f"{self.fields[name].label}: {message}"
            for name, messages in self.errors.items()
            for message in messages
        ]
