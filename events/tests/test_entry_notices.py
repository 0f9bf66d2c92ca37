"""Cancelling an entry tells the athlete; a transfer never shows the old holder the new page.

Cancelling (by the athlete on their entry page, or by the organizer in the admin)
sent no e-mail; a transfer sent the old holder straight to the new holder's manage
page, the one link that lets its holder cancel or pass the entry on again.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from events import payment_providers
from events.models import Race, Registration
from events.registration import registration_create
from events.tests.factories import ENTRY_FORM

pytestmark = pytest.mark.django_db


@pytest.fixture
def race(alpha_event: Any) -> Race:
    alpha_event.allow_cancellation = alpha_event.allow_transfers = True
    alpha_event.save()
    return alpha_event.races.get()


@pytest.fixture
def daves_entry(race: Race, dave: Any) -> Registration:
    entry: dict[str, Any] = {**ENTRY_FORM, "email": "dave@example.com", "first_name": "Dave"}
    entry["birth_date"] = dt.date(1980, 5, 2)
    registration = registration_create(race=race, user=dave, entry=entry, answers={}, code="")
    Registration.objects.filter(pk=registration.pk).update(status=Registration.Status.CONFIRMED)
    mail.outbox.clear()
    return registration


def _as(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_it_emails_the_athlete_who_cancels_their_entry_and_shows_it_in_my_races(
    daves_entry, dave, django_capture_on_commit_callbacks
):
    athlete = _as(dave)
    with django_capture_on_commit_callbacks(execute=True):
        athlete.post(reverse("events:entry_cancel", args=[daves_entry.manage_token]))

    [notice] = mail.outbox
    assert notice.to == ["dave@example.com"]
    assert notice.subject == "Entry cancelled: Alpha Marathon, Marathon"
    assert "your entry is cancelled, as you asked" in notice.body
    assert "Nothing was charged" in notice.body
    page = athlete.get(reverse("events:my_races")).content.decode()
    assert '<span class="entry-status">Cancelled</span>' in page


def test_it_emails_the_athlete_whose_entry_the_organizer_cancels_in_the_admin(
    daves_entry, alice, django_capture_on_commit_callbacks
):
    admin = _as(alice)
    data = {"action": "cancel_entries", "_selected_action": [daves_entry.pk], "confirm": "yes"}
    with django_capture_on_commit_callbacks(execute=True):
        admin.post(reverse("admin:events_registration_changelist"), data)

    daves_entry.refresh_from_db()
    assert daves_entry.status == Registration.Status.CANCELLED
    [notice] = mail.outbox
    assert notice.to == ["dave@example.com"]
    assert "your entry is cancelled by the organizer" in notice.body
    listed = admin.get(reverse("admin:events_registration_changelist")).content.decode()
    assert "Cancelled" in listed


def test_it_sends_nothing_when_the_cancellation_is_refused(
    daves_entry, dave, race, django_capture_on_commit_callbacks
):
    race.event.allow_cancellation = False
    race.event.save()

    with django_capture_on_commit_callbacks(execute=True):
        _as(dave).post(reverse("events:entry_cancel", args=[daves_entry.manage_token]))

    assert not mail.outbox
    daves_entry.refresh_from_db()
    assert daves_entry.status == Registration.Status.CONFIRMED


def test_it_never_shows_the_old_holder_the_new_holders_page_after_a_transfer(
    daves_entry, dave, django_capture_on_commit_callbacks
):
    athlete = _as(dave)
    old_token = daves_entry.manage_token
    new = {**ENTRY_FORM, "first_name": "Tom", "last_name": "New", "email": "tom@example.com"}

    with django_capture_on_commit_callbacks(execute=True):
        response = athlete.post(
            reverse("events:entry_transfer", args=[old_token]), new, follow=True
        )

    daves_entry.refresh_from_db()
    new_token = daves_entry.manage_token
    assert new_token != old_token
    assert response.redirect_chain == [(reverse("events:my_races"), 302)]
    page = response.content.decode()
    assert new_token not in page and "Tom New" in page  # the message names who has it now
    assert "Alpha Marathon: Marathon</a>" not in page  # no longer among Dave's races
    for name in ("events:entry", "events:entry_transfer"):
        assert athlete.get(reverse(name, args=[old_token])).status_code == 404
    old_pay_url = payment_providers.get().pay_url(registration=Registration(manage_token=old_token))
    assert athlete.get(old_pay_url).status_code == 404
    assert athlete.post(reverse("events:entry_cancel", args=[old_token])).status_code == 404
    [confirmation] = mail.outbox
    assert confirmation.to == ["tom@example.com"] and new_token in confirmation.body


def test_it_sends_a_guest_who_passes_their_entry_on_to_the_event_page(
    daves_entry, race, django_capture_on_commit_callbacks
):
    new = {**ENTRY_FORM, "first_name": "Tom", "last_name": "New", "email": "tom@example.com"}
    url = reverse("events:entry_transfer", args=[daves_entry.manage_token])

    response = Client().post(url, new)

    assert response.status_code == 302
    assert response["Location"] == race.event.get_absolute_url()


def test_it_refuses_to_pass_on_an_entry_not_paid_yet(daves_entry, dave):
    Registration.objects.filter(pk=daves_entry.pk).update(status=Registration.Status.PENDING)
    new = {**ENTRY_FORM, "first_name": "Tom", "last_name": "New", "email": "tom@example.com"}

    response = _as(dave).post(
        reverse("events:entry_transfer", args=[daves_entry.manage_token]), new
    )

    assert response.status_code == 400
    assert "Pay for the entry before passing it on" in response.content.decode()
    daves_entry.refresh_from_db()
    assert daves_entry.first_name == "Dave"


def test_it_emails_each_cancelled_team_mate_once_per_address(
    race, daves_entry, django_capture_on_commit_callbacks
):
    from events.entry_changes import registration_cancel
    from events.models import Team
    from events.tests.participants import enter

    team = Team.objects.create(race=race, name="Relay")
    mates = [
        enter(race, "Ann", email="ann@example.com"),
        enter(race, "Bo", email="DAVE@example.com"),
    ]
    Registration.objects.filter(pk__in=[daves_entry.pk, *(m.pk for m in mates)]).update(
        team=team, status=Registration.Status.CONFIRMED
    )
    daves_entry.refresh_from_db()
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        registration_cancel(registration=daves_entry, by_organizer=True)

    assert sorted(m.to[0] for m in mail.outbox) == ["ann@example.com", "dave@example.com"]
    assert all("cancelled by the organizer" in m.body for m in mail.outbox)
