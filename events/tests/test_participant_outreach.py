"""Reaching participants from the back office: the mass e-mail, and the dashboard of
entries and revenue with its links."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from events.dashboard import event_dashboards
from events.mass_email import participant_email_send
from events.models import (
    Race,
    Registration,
)
from events.tests.participants import CHANGELIST, enter, post_action

pytestmark = pytest.mark.django_db


@pytest.fixture
def race(alpha_event: Any) -> Race:
    return alpha_event.races.get()


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
