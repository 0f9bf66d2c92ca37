"""Certificates for names in any alphabet, with or without the DejaVu fonts."""

from __future__ import annotations

import re
from typing import Any

import pytest

from results import certificate
from results.certificate import Certificate, certificate_pdf

LONG = "Maximiliane Alexandra Hohenzollern-Sigmaringen de la Tour d'Auvergne"


def cert(athlete: str) -> Certificate:
    return Certificate(
        athlete=athlete, event="Lac d'Annecy Marathon", race="Marathon",
        date="Sunday 12 April 2026", place="Annecy, France", distance="42.195 km",
        time="2:59:59", rank_line="12th of 340 finishers", official=True, site="pace.example",
    )  # fmt: skip


def title_of(pdf: bytes) -> str:
    """The document's title: UTF-16 in hex, or a literal string when all ASCII."""
    found = re.search(rb"/Title <feff([0-9a-f]+)>", pdf)
    if found is not None:
        return bytes.fromhex(found.group(1).decode()).decode("utf-16-be")
    literal = re.search(rb"/Title \((.*?)\)\n", pdf)
    assert literal is not None
    return literal.group(1).decode("latin-1").replace("\\(", "(").replace("\\)", ")")


@pytest.mark.parametrize("name", ["Юлия Иванова", "李小龍", "Łukasz Żółw", LONG])
def test_it_sets_any_name_on_one_page(name: str) -> None:
    pdf = certificate_pdf(cert(name))
    assert pdf.startswith(b"%PDF-") and b"/Count 1" in pdf
    assert name in title_of(pdf)
    assert b"DejaVu" in pdf  # the embedded font that has these letters


def test_it_falls_back_to_latin_letters_without_dejavu(monkeypatch: Any) -> None:
    monkeypatch.setattr(certificate, "_dejavu", lambda: None)
    pdf = certificate_pdf(cert("Łukasz Żółw"))
    assert pdf.startswith(b"%PDF-") and b"/Helvetica" in pdf and b"DejaVu" not in pdf
    assert certificate._latin("Łukasz Żółw") == "Lukasz Zólw"
