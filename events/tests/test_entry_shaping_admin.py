"""What shapes entries in the back office (price tiers, questions, discount codes), and
teams, the waitlist and cancelling entries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from events.models import (
    DiscountCode,
    Race,
    Registration,
    WaitlistEntry,
)
from events.pricing import quote
from events.registration import registration_create
from events.tests.factories import make_race
from events.tests.participants import CHANGELIST, enter, messages_of, post_action
from pace.lib.testing import admin_form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def race(alpha_event: Any) -> Race:
    return alpha_event.races.get()


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
