"""Participant management in the back office: the list, check-in, bibs, the start list
and exports (e-mail and the dashboard: ``test_participant_outreach.py``; what shapes
entries, teams, the waitlist and cancellations: ``test_entry_shaping_admin.py``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from events.models import (
    Race,
    RaceCategory,
    RaceQuestion,
    Registration,
    RegistrationChange,
)
from events.tests.factories import make_race
from events.tests.participants import CHANGELIST, enter, messages_of, post_action
from pace.lib.testing import admin_form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def race(alpha_event: Any) -> Race:
    return alpha_event.races.get()


# --- The list -------------------------------------------------------------------------


def test_it_lists_entries_with_race_category_payment_and_check_in(as_alice, race):
    category = RaceCategory.objects.create(race=race, code="F", name="Women", sex="F")
    enter(race, "Rita", "Runner", club="AC Annecy")
    html = as_alice.get(reverse(CHANGELIST)).content.decode()
    assert "Rita Runner" in html
    assert category.name in html
    assert '<span title="Alpha Marathon">Marathon</span>' in html
    assert "Pay on site" in html
    assert "Confirmed" in html


def test_it_filters_entries_by_status_race_and_check_in(as_alice, race):
    other = make_race(race.event, "10K")
    rita, anna = enter(race, "Rita"), enter(other, "Anna")
    Registration.objects.filter(pk=anna.pk).update(status=Registration.Status.CANCELLED)
    rita.checked_in_at = timezone.now()
    rita.save()

    def names(query: str) -> set[str]:
        response = as_alice.get(reverse(CHANGELIST) + query)
        return {entry.first_name for entry in response.context["cl"].result_list}

    assert names("?status__exact=cancelled") == {"Anna"}
    assert names(f"?race__id__exact={race.pk}") == {"Rita"}
    assert names(f"?event__id__exact={race.event_id}") == {"Rita", "Anna"}
    assert names("?checked_in=yes") == {"Rita"}
    assert names("?checked_in=no") == {"Anna"}


@pytest.mark.parametrize("query", ["rita", "Rita Runner", "ac annecy", "rita@example.com", "42"])
def test_it_finds_entries_by_name_email_club_and_bib(as_alice, race, query):
    rita = enter(race, "Rita", "Runner", club="AC Annecy")
    Registration.objects.filter(pk=rita.pk).update(bib="42")
    enter(race, "Zoe", "Other", club="Elsewhere")
    response = as_alice.get(reverse(CHANGELIST), {"q": query})
    assert [e.first_name for e in response.context["cl"].result_list] == ["Rita"]


def test_it_keeps_the_participant_list_queries_flat(as_alice, race, django_assert_max_num_queries):
    RaceCategory.objects.create(race=race, code="F", name="Women", sex="F")
    races = [race, make_race(race.event, "10K"), make_race(race.event, "5K")]
    for i in range(12):
        enter(races[i % 3], f"Runner{i}")
    # session, user, roles, the event/race/category filters, 2 counts, 2 permissions, the page
    with django_assert_max_num_queries(11):
        response = as_alice.get(reverse(CHANGELIST))
    assert len(response.context["cl"].result_list) == 12


# --- Check-in and bibs ----------------------------------------------------------------------


def test_it_checks_in_confirmed_entries_and_skips_the_rest(as_alice, alice, race):
    rita, anna = enter(race, "Rita"), enter(race, "Anna")
    Registration.objects.filter(pk=anna.pk).update(status=Registration.Status.PENDING)
    response = post_action(as_alice, "check_in", [rita, anna])
    rita.refresh_from_db()
    anna.refresh_from_db()
    assert rita.checked_in_at is not None and anna.checked_in_at is None
    assert RegistrationChange.objects.get(kind="check_in").actor == alice
    shown = messages_of(as_alice.get(response["Location"]))
    assert "1 entry(ies) checked in." in shown
    assert "1 skipped: already checked in, or not confirmed." in shown


def test_it_assigns_bibs_per_race_in_entry_order_unique_in_the_event(as_alice, race):
    short = make_race(race.event, "10K")
    Race.objects.filter(pk=race.pk).update(bib_from=1, bib_to=99)
    Race.objects.filter(pk=short.pk).update(bib_from=1, bib_to=99)  # overlapping on purpose
    first, _second = enter(race, "First"), enter(race, "Second")
    third = enter(short, "Third")
    post_action(as_alice, "assign_bibs", [first])  # numbers the whole race, not the selection
    assert [e.bib for e in Registration.objects.order_by("pk")] == ["1", "2", ""]
    post_action(as_alice, "assign_bibs", [third])
    third.refresh_from_db()
    assert third.bib == "3"


@pytest.mark.parametrize(
    ("bib_from", "bib_to", "error"),
    [
        (None, None, "Set the bib range of Marathon first."),
        (50, 10, "Set the bib range of Marathon first."),
        (1, 1, "The bib range of Marathon is used up."),
    ],
)
def test_it_reports_a_bad_bib_range_and_numbers_nobody(as_alice, race, bib_from, bib_to, error):
    Race.objects.filter(pk=race.pk).update(bib_from=bib_from, bib_to=bib_to)
    entries = [enter(race, "Rita"), enter(race, "Anna")]
    response = post_action(as_alice, "assign_bibs", entries)
    assert error in messages_of(as_alice.get(response["Location"]))
    assert set(Registration.objects.values_list("bib", flat=True)) == {""}


def test_it_sets_a_bib_by_hand_and_records_it(as_alice, alice, race):
    rita = enter(race, "Rita")
    url = reverse("admin:events_registration_change", args=[rita.pk])
    data = {**admin_form_data(as_alice.get(url)), "bib": " 7 ", "club": "New club"}
    assert as_alice.post(url, data).status_code == 302
    rita.refresh_from_db()
    assert (rita.bib, rita.club) == ("7", "New club")
    change = rita.changes.get(kind="bib")
    assert (change.detail, change.actor) == ({"bib": "7"}, alice)


def test_it_shows_a_bib_taken_in_the_event_as_a_form_error(as_alice, race):
    other = make_race(race.event, "10K")
    rita, anna = enter(race, "Rita"), enter(other, "Anna")
    Registration.objects.filter(pk=anna.pk).update(bib="7")
    url = reverse("admin:events_registration_change", args=[rita.pk])
    response = as_alice.post(url, {**admin_form_data(as_alice.get(url)), "bib": "7"})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["bib"] == [
        "Bib 7 is already taken in this event by Anna Runner (10K)."
    ]
    rita.refresh_from_db()
    assert rita.bib == ""


def test_it_shows_the_answers_with_their_questions_and_the_history(as_alice, race):
    shirt = RaceQuestion.objects.create(race=race, label="Pasta party?", kind="yes_no")
    rita = enter(race, "Rita", answers={str(shirt.pk): "yes"})
    post_action(as_alice, "check_in", [rita])
    html = as_alice.get(reverse("admin:events_registration_change", args=[rita.pk])).content
    assert b"<th>Pasta party?</th><td>Yes</td>" in html
    assert b"check_in" in html


def test_it_neither_adds_nor_deletes_entries_in_the_admin(as_alice, race):
    rita = enter(race)
    assert as_alice.get(reverse("admin:events_registration_add")).status_code == 403
    delete = reverse("admin:events_registration_delete", args=[rita.pk])
    assert as_alice.post(delete, {"post": "yes"}).status_code == 403
    assert Registration.objects.filter(pk=rita.pk).exists()


# --- Start list -------------------------------------------------------------------------


def test_it_prints_the_start_list_of_confirmed_entries_in_bib_order(as_alice, race):
    bibs = {"Ten": "10", "Nine": "9", "Letter": "A1", "None": "", "Pending": "1"}
    for first, bib in bibs.items():
        entry = enter(race, first, club=f"{first} club")
        Registration.objects.filter(pk=entry.pk).update(bib=bib)
    Registration.objects.filter(first_name="Pending").update(status=Registration.Status.PENDING)
    url = reverse("admin:events_registration_start_list", args=[race.pk])
    response = as_alice.get(url)
    assert [e.first_name for e in response.context["entries"]] == ["Nine", "Ten", "Letter", "None"]
    assert b"Nine club" in response.content and b"Pending" not in response.content


def test_it_downloads_the_start_list_as_csv(as_alice, race):
    RaceCategory.objects.create(race=race, code="F", name="Women", sex="F")
    rita = enter(race, "Rita", club="AC Annecy", nationality="CH")
    Registration.objects.filter(pk=rita.pk).update(bib="5")
    url = reverse("admin:events_registration_start_list", args=[race.pk])
    response = as_alice.get(url, {"format": "csv"})
    assert response["Content-Type"] == "text/csv"
    assert "start-list-alpha-marathon-marathon.csv" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows == [
        ["Bib", "Last name", "First name", "Category", "Club", "Nationality", "Team"],
        ["5", "Runner", "Rita", "Women", "AC Annecy", "CH", ""],
    ]


# --- Exports --------------------------------------------------------------------------------


@pytest.fixture
def answered(race: Race) -> list[Registration]:
    """Two races of one event, each asking its own questions, one label shared."""
    other = make_race(race.event, "10K")
    size = RaceQuestion.objects.create(race=race, label="Shuttle bus?", kind="yes_no")
    diet = RaceQuestion.objects.create(race=race, label="Diet", position=1)
    bus = RaceQuestion.objects.create(race=other, label="Shuttle bus?", kind="yes_no")
    return [
        enter(race, "Rita", answers={str(size.pk): "yes", str(diet.pk): "Vegan"}),
        enter(other, "Anna", answers={str(bus.pk): "no"}),
    ]


def _export_rows(client: Client, entries: list[Registration]) -> list[dict[str, str]]:
    response = post_action(client, "export_csv", entries)
    assert response["Content-Type"] == "text/csv"
    assert response["Content-Disposition"].startswith('attachment; filename="participants-')
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_it_exports_entries_with_one_column_per_question_as_csv(as_alice, answered):
    rows = _export_rows(as_alice, answered)
    by_name = {row["First name"]: row for row in rows}
    assert list(rows[0])[-2:] == ["Shuttle bus?", "Diet"]
    assert by_name["Rita"]["Shuttle bus?"] == "Yes" and by_name["Rita"]["Diet"] == "Vegan"
    assert by_name["Anna"]["Shuttle bus?"] == "No" and by_name["Anna"]["Diet"] == ""
    assert by_name["Rita"]["Race"] == "Marathon" and by_name["Anna"]["Race"] == "10K"
    assert by_name["Rita"]["Price"] == "25.00" and by_name["Rita"]["Status"] == "Confirmed"


@pytest.mark.parametrize("evil", ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1:A9)"])
def test_it_neutralises_spreadsheet_formulas_in_the_csv(as_alice, race, evil):
    rita = enter(race, "Rita", club=evil)
    assert _export_rows(as_alice, [rita])[0]["Club"] == "'" + evil


def test_it_exports_xlsx_with_text_that_never_runs_as_a_formula(as_alice, answered):
    Registration.objects.filter(first_name="Rita").update(club="=1+1")
    response = post_action(as_alice, "export_xlsx", answered)
    assert response["Content-Disposition"].endswith('.xlsx"')
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows())
    header = [cell.value for cell in rows[0]]
    assert header[-2:] == ["Shuttle bus?", "Diet"]
    club = {row[header.index("First name")].value: row[header.index("Club")] for row in rows[1:]}
    assert (club["Rita"].value, club["Rita"].data_type) == ("=1+1", "s")
    assert all(cell.data_type != "f" for row in rows for cell in row)
    birth = rows[1][header.index("Birth date")].value
    assert birth.date() == dt.date(1985, 3, 4)


def test_it_exports_nothing_without_a_selection(as_alice, race):
    enter(race)
    response = post_action(as_alice, "export_csv", [], follow=True)
    assert response["Content-Type"].startswith("text/html")
    assert "Items must be selected in order to perform actions on them. No items have been " \
        "changed." in messages_of(response)  # fmt: skip
