"""Participant management in the back office: list, check-in, bibs, start list, exports,
e-mail, dashboard, and what shapes entries (price tiers, questions, codes, teams, waitlist).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from events.dashboard import event_dashboards
from events.mass_email import participant_email_send
from events.models import (
    DiscountCode,
    Race,
    RaceCategory,
    RaceQuestion,
    Registration,
    RegistrationChange,
    WaitlistEntry,
)
from events.pricing import quote
from events.registration import registration_create
from events.tests.factories import make_race
from pace.lib.testing import admin_form_data

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:events_registration_changelist"


def enter(race: Race, first: str = "Rita", last: str = "Runner", **over: Any) -> Registration:
    """A confirmed entry (the races' fee is paid on site), taken the way athletes take them."""
    answers, code = over.pop("answers", {}), over.pop("code", "")
    entry = {
        "email": f"{first.lower()}@example.com", "first_name": first, "last_name": last,
        "birth_date": dt.date(1985, 3, 4), "sex": "F", "nationality": "FR", "club": "",
        "emergency_name": "Someone", "emergency_phone": "+33 6 00 00 00 00", **over,
    }  # fmt: skip
    return registration_create(race=race, user=None, entry=entry, answers=answers, code=code)


def post_action(client: Client, action: str, entries: list[Any], follow: bool = False) -> Any:
    """What the changelist's action bar posts for these entries."""
    data = {"action": action, "index": "0", "_selected_action": [e.pk for e in entries]}
    return client.post(reverse(CHANGELIST), data, follow=follow)


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


@pytest.fixture
def race(alpha_event: Any) -> Race:
    return alpha_event.races.get()


@pytest.fixture
def as_alice(client: Client, alice: Any) -> Client:
    client.force_login(alice)
    return client


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


# --- Mass e-mail ------------------------------------------------------------------------


@pytest.fixture
def participants(race: Race) -> list[Registration]:
    """Two confirmed participants (a third shares an address), one pending, one cancelled."""
    entries = [
        enter(race, "Rita"),
        enter(race, "Anna"),
        enter(race, "Twin", email="rita@example.com"),
    ]
    Registration.objects.filter(pk=enter(race, "Paul").pk).update(status="pending")
    Registration.objects.filter(pk=enter(race, "Carl").pk).update(status="cancelled")
    return entries


def test_it_shows_how_many_participants_the_email_goes_to(as_alice, race, participants):
    response = as_alice.get(reverse("admin:events_registration_email", args=[race.pk]))
    assert response.context["recipients"] == 2
    assert b"2 confirmed participants" in response.content


def test_it_emails_each_confirmed_participant_once_and_logs_the_sender(
    as_alice, alice, race, participants, django_capture_on_commit_callbacks
):
    url = reverse("admin:events_registration_email", args=[race.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = as_alice.post(
            url, {"subject": "Bib pick-up", "body": "Friday 5pm.", "send": "1"}
        )
    assert response.status_code == 302
    assert sorted(m.to[0] for m in mail.outbox) == ["anna@example.com", "rita@example.com"]
    message = mail.outbox[0]
    assert message.subject == "Bib pick-up"
    assert message.body.startswith("Friday 5pm.\n\n--\nAlpha Races: Alpha Marathon, Marathon")
    assert message.reply_to == ["o@example.com"]
    log = LogEntry.objects.get()
    assert (log.user, log.object_id) == (alice, str(race.pk))
    assert "Bib pick-up" in log.change_message and "2 participant(s)" in log.change_message


@pytest.mark.parametrize("data", [{"subject": "", "body": "Hi"}, {"subject": "Hi", "body": "  "}])
def test_it_refuses_an_empty_subject_or_body(as_alice, race, participants, data):
    url = reverse("admin:events_registration_email", args=[race.pk])
    response = as_alice.post(url, {**data, "send": "1"})
    assert response.status_code == 200
    assert "This field is required." in str(response.context["form"].errors)
    assert not LogEntry.objects.exists()


def test_it_refuses_to_send_when_nobody_is_confirmed(as_alice, race):
    Registration.objects.filter(pk=enter(race).pk).update(status="pending")
    url = reverse("admin:events_registration_email", args=[race.pk])
    response = as_alice.post(url, {"subject": "Hi", "body": "Hi", "send": "1"})
    assert "Nobody to write to" in str(response.context["form"].non_field_errors())
    assert not LogEntry.objects.exists()


def test_it_emails_only_the_selected_participants(
    as_alice, participants, django_capture_on_commit_callbacks
):
    rita = participants[0]
    page = post_action(as_alice, "email_selected", [rita])
    assert page.context["recipients"] == 1
    assert ("_selected_action", rita.pk) in page.context["hidden"]
    data = {"action": "email_selected", "_selected_action": [rita.pk], "send": "1"}
    with django_capture_on_commit_callbacks(execute=True):
        response = as_alice.post(
            reverse(CHANGELIST), {**data, "subject": "Just you", "body": "Hello Rita"}
        )
    assert response.status_code == 302
    assert [m.to for m in mail.outbox] == [["rita@example.com"]]


def test_it_skips_an_entry_cancelled_before_its_email_goes(race):
    rita = enter(race)
    Registration.objects.filter(pk=rita.pk).update(status="cancelled")
    assert participant_email_send(registration_id=rita.pk, subject="s", body="b") is False
    assert mail.outbox == []


# --- Dashboard ------------------------------------------------------------------------------


def test_it_charts_confirmed_entries_and_revenue_per_day(alice, race):
    today = timezone.localdate()
    entries = [enter(race, name) for name in ["Rita", "Anna", "Paul", "Carl"]]
    three_days_ago = timezone.now() - dt.timedelta(days=3)
    Registration.objects.filter(pk=entries[0].pk).update(created_at=three_days_ago)
    Registration.objects.filter(pk=entries[1].pk).update(price=Decimal("10.50"), currency="CHF")
    Registration.objects.filter(pk=entries[2].pk).update(status="pending")
    Registration.objects.filter(pk=entries[3].pk).update(status="cancelled")
    race.capacity = 10
    race.save()
    [board] = event_dashboards(user=alice, today=today)
    assert (board.confirmed, board.pending, board.cancelled) == (2, 1, 1)
    assert board.revenue == {"CHF": Decimal("10.50"), "EUR": Decimal("25.00")}
    per_day = {bar.day: bar.value for bar in board.entries_chart.bars}
    assert len(per_day) == 60
    assert per_day[today] == 1 and per_day[today - dt.timedelta(days=3)] == 1
    eur = {bar.day: bar.value for bar in board.revenue_charts["EUR"].bars}
    assert eur[today - dt.timedelta(days=3)] == Decimal("25.00") and eur[today] == 0
    [line] = board.races
    # The pending entry still holds its place while its payment hold runs; here it has none.
    assert (line.confirmed, line.places_left) == (2, 8)


def test_it_renders_the_dashboard_and_links_it_from_the_admin_index(as_alice, race):
    enter(race)
    url = reverse("admin:events_registration_dashboard")
    assert url.encode() in as_alice.get(reverse("admin:index")).content
    html = as_alice.get(url).content.decode()
    assert "Alpha Marathon" in html and "<rect" in html and "25.00 EUR" in html
    assert reverse("admin:events_registration_start_list", args=[race.pk]) in html


def test_it_links_a_races_start_list_and_email_from_its_filtered_list(as_alice, race):
    html = as_alice.get(reverse(CHANGELIST), {"race__id__exact": race.pk}).content.decode()
    assert reverse("admin:events_registration_start_list", args=[race.pk]) in html
    assert reverse("admin:events_registration_email", args=[race.pk]) in html


# --- Price tiers, questions and discount codes --------------------------------------------


def _race_page(client: Client, race: Race) -> tuple[str, dict[str, Any]]:
    url = reverse("admin:events_race_change", args=[race.pk])
    return url, admin_form_data(client.get(url))


def test_it_adds_price_tiers_and_questions_on_the_race_page(as_alice, race):
    url, data = _race_page(as_alice, race)
    until = timezone.localtime() + dt.timedelta(days=10)
    data.update({
        "price_tiers-TOTAL_FORMS": "1", "price_tiers-0-name": "Early bird",
        "price_tiers-0-price": "15", "price_tiers-0-until_0": f"{until:%Y-%m-%d}",
        "price_tiers-0-until_1": "12:00:00",
        "questions-TOTAL_FORMS": "1", "questions-0-label": "Shirt colour",
        "questions-0-kind": "choice", "questions-0-choices": "Red\nBlue",
        "questions-0-position": "0",
    })  # fmt: skip
    assert as_alice.post(url, data).status_code == 302
    assert quote(race=race).tier == "Early bird"
    assert race.questions.get().options == ["Red", "Blue"]


def test_it_refuses_a_choice_question_without_options(as_alice, race):
    url, data = _race_page(as_alice, race)
    data.update({
        "questions-TOTAL_FORMS": "1", "questions-0-label": "Shirt colour",
        "questions-0-kind": "choice", "questions-0-choices": " \n", "questions-0-position": "0",
    })  # fmt: skip
    response = as_alice.post(url, data)
    assert response.status_code == 200
    assert b"A choice question needs its options, one a line." in response.content
    assert not race.questions.exists()


def _code_data(for_race: Race, **over: Any) -> dict[str, Any]:
    return {"event": for_race.event_id, "race": for_race.pk, "code": "EARLY", "kind": "percent",
            "amount": "20", "max_uses": "", "valid_until_0": "", "valid_until_1": "",
            "active": "on", **over}  # fmt: skip


def test_it_creates_a_discount_code_for_one_race(as_alice, race):
    url = reverse("admin:events_discountcode_add")
    assert as_alice.post(url, _code_data(race, max_uses="1")).status_code == 302
    assert quote(race=race, code="early").price == Decimal("20.00")
    assert enter(race, code="EARLY").price == Decimal("20.00")
    html = as_alice.get(reverse("admin:events_discountcode_changelist")).content.decode()
    assert 'class="field-used">1<' in html


@pytest.mark.parametrize(
    ("over", "field", "error"),
    [
        ({"amount": "120"}, "amount", "A percentage is at most 100."),
        ({"race": "other-event"}, "race", "This race is not part of the chosen event."),
        ({"code": "early"}, "code", "This event already has this code."),
    ],
)
def test_it_refuses_bad_discount_codes(as_alice, alpha, race, over, field, error):
    from events.tests.factories import make_event

    DiscountCode.objects.create(event=race.event, code="EARLY", amount=10)
    if over.get("race") == "other-event":
        over = {"race": make_race(make_event(alpha, "Alpha Sprint"), "5K").pk}
    response = as_alice.post(reverse("admin:events_discountcode_add"), _code_data(race, **over))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors[field] == [error]


# --- Teams, waitlist and cancellations ---------------------------------------------------


def test_it_lists_teams_with_their_members(as_alice, race):
    Race.objects.filter(pk=race.pk).update(team_size=2)
    race.refresh_from_db()
    payer = registration_create(
        race=race, user=None, answers={}, team_name="Fast Pair",
        entry={"email": "p@example.com", "first_name": "Pia", "last_name": "Payer",
               "birth_date": dt.date(1990, 1, 1), "sex": "F", "nationality": "FR",
               "emergency_name": "C", "emergency_phone": "1"},
        teammates=[{"first_name": "Max", "last_name": "Mate", "birth_date": dt.date(1991, 1, 1),
                    "sex": "M", "email": ""}],
    )  # fmt: skip
    html = as_alice.get(reverse("admin:events_team_changelist")).content.decode()
    assert "Fast Pair" in html and 'class="field-member_count">2<' in html
    page = as_alice.get(reverse("admin:events_team_change", args=[payer.team_id])).content
    assert b"Pia" in page and b"Max" in page


def test_it_offers_free_places_to_the_waitlist_from_the_admin(
    as_alice, race, django_capture_on_commit_callbacks
):
    Race.objects.filter(pk=race.pk).update(capacity=1)
    enter(race)
    waiting = WaitlistEntry.objects.create(race=race, name="Wendy", email="w@example.com")
    url = reverse("admin:events_waitlistentry_changelist")
    data = {"action": "offer_places", "index": "0", "_selected_action": [waiting.pk]}
    response = as_alice.post(url, data, follow=True)
    assert "Marathon: no free place, or nobody waiting." in messages_of(response)
    Race.objects.filter(pk=race.pk).update(capacity=2)
    with django_capture_on_commit_callbacks(execute=True):
        response = as_alice.post(url, data, follow=True)
    assert "Marathon: 1 place(s) offered." in messages_of(response)
    waiting.refresh_from_db()
    assert waiting.status == WaitlistEntry.Status.OFFERED
    assert [m.to for m in mail.outbox] == [["w@example.com"]]


def test_it_shows_the_waitlist_read_only(as_alice, race):
    waiting = WaitlistEntry.objects.create(race=race, name="Wendy", email="w@example.com")
    url = reverse("admin:events_waitlistentry_change", args=[waiting.pk])
    assert as_alice.get(url).status_code == 200
    assert as_alice.post(url, {"name": "Changed"}).status_code == 403


def test_it_cancels_entries_after_confirming_and_offers_the_place(
    as_alice, alice, race, django_capture_on_commit_callbacks
):
    Race.objects.filter(pk=race.pk).update(capacity=1)
    rita = enter(race)
    waiting = WaitlistEntry.objects.create(race=race, name="Wendy", email="w@example.com")
    page = post_action(as_alice, "cancel_entries", [rita])
    assert page.status_code == 200 and b"Yes, cancel 1 entry" in page.content
    rita.refresh_from_db()
    assert rita.status == Registration.Status.CONFIRMED
    with django_capture_on_commit_callbacks(execute=True):
        data = {"action": "cancel_entries", "_selected_action": [rita.pk], "confirm": "yes"}
        assert as_alice.post(reverse(CHANGELIST), data).status_code == 302
    rita.refresh_from_db()
    assert rita.status == Registration.Status.CANCELLED
    change = rita.changes.get(kind="cancel")
    assert (change.actor, change.detail) == (alice, {"by_organizer": True})
    waiting.refresh_from_db()
    assert waiting.status == WaitlistEntry.Status.OFFERED


def test_it_lets_only_owners_and_admins_cancel_entries(client, bob, race):
    client.force_login(bob)
    rita = enter(race)
    data = {"action": "cancel_entries", "_selected_action": [rita.pk], "confirm": "yes"}
    response = client.post(reverse(CHANGELIST), {**data, "index": "0"}, follow=True)
    assert "No action selected." in messages_of(response)
    rita.refresh_from_db()
    assert rita.status == Registration.Status.CONFIRMED
