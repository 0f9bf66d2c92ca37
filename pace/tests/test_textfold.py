"""Searches ignore case and accents as someone typing on a phone expects."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pace.lib.textfold import fold


@pytest.mark.parametrize(
    ("name", "typed"),
    [
        ("López", "lopez"),
        ("ZÜRICH", "zurich"),
        ("Łódź", "lodz"),
        ("Straße", "strasse"),
        ("Søren Kierkegaard", "soren kierkegaard"),
        ("Ærøskøbing", "aeroskobing"),
        ("\uff26\uff55\uff4c\uff4c", "full"),  # full-width letters, as some keyboards type
        ("İstanbul", "istanbul"),
    ],
)
def test_names_are_found_as_typed(name: str, typed: str) -> None:
    assert fold(name) == fold(typed) == typed


@given(st.text())
def test_folding_is_settled_and_drops_every_mark(text: str) -> None:
    folded = fold(text)
    assert fold(folded) == folded
    assert not any(unicodedata.combining(c) for c in folded)
