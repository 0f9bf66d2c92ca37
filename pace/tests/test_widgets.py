from __future__ import annotations

import re

import pytest
from django import forms

from pace.lib.widgets import PlainSelect

CHOICES = [("", "Any country"), ("FR", "France"), ("CI", "Côte d'Ivoire"), ("X&Y", "<X & Y>")]
OPTION = re.compile(r'<option value="([^"]*)"( selected)?>([^<]*)</option>')


def _options(html: str) -> list[tuple[str, bool, str]]:
    return [(value, bool(selected), label) for value, selected, label in OPTION.findall(html)]


@pytest.mark.parametrize("value", ["", "FR", "X&Y", None])
def test_it_renders_the_options_django_renders(value):
    attrs = {"id": "id_country", "aria-invalid": "true"}
    django = forms.Select(choices=CHOICES).render("country", value, attrs)
    plain = PlainSelect(choices=CHOICES).render("country", value, attrs)
    assert _options(plain) == _options(django)
    assert len(_options(plain)) == len(CHOICES)
    assert plain.startswith('<select name="country" aria-invalid="true" id="id_country">')


def test_it_leaves_grouped_choices_to_django():
    grouped = [("Europe", [("FR", "France")]), ("Africa", [("CI", "Côte d'Ivoire")])]
    widget = PlainSelect(choices=grouped)
    assert widget.render("c", "FR") == forms.Select(choices=grouped).render("c", "FR")
