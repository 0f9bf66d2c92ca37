"""Guest entries hold their place until the e-mail is confirmed; entries are limited per IP,
account and e-mail; a closed or full race says so before its entry form."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from events.models import Event, Registration
from events.notifications import entry_confirm_email_path
from events.registration import places_left
from events.tasks import release_expired_places
from events.tests.factories import ENTRY_FORM, make_user

HOME_IP = "203.0.113.7"


@pytest.fixture
def race(alpha_event):
    race = alpha_event.races.get()
    race.capacity = 1
    race.save()
    return race


def _url(race):
    return reverse("events:enter", args=[race.event.slug, race.slug])


def _enter(client, race, ip=HOME_IP, **changes):
    return client.post(_url(race), {**ENTRY_FORM, **changes}, REMOTE_ADDR=ip)


# --- The place of a guest's entry is held until its e-mail is confirmed ------------


def test_it_holds_a_guests_place_until_the_hold_ends_then_gives_it_back(client, race):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        assert _enter(client, race).status_code == 302
        held = Registration.objects.get()
        assert held.status == Registration.Status.UNVERIFIED
        # Held: the race of one place is full for the next guest.
        assert b"This race is full" in _enter(client, race, email="other@example.com").content
    with time_machine.travel(start + dt.timedelta(minutes=61), tick=False):
        release_expired_places()
        held.refresh_from_db()
        assert held.status == Registration.Status.CANCELLED
        assert places_left(race=race) == 1
        # Following the link after the hold ran out takes nothing back.
        page = client.post(entry_confirm_email_path(held), follow=True)
        assert b"not confirmed in time" in page.content
        held.refresh_from_db()
        assert held.status == Registration.Status.CANCELLED


def test_it_takes_a_guests_entry_when_the_emailed_link_is_followed(
    client, race, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _enter(client, race)
    held = Registration.objects.get()
    (check,) = mail.outbox
    assert check.to == ["runner@example.com"]
    assert entry_confirm_email_path(held) in check.body
    # The entry's own page (which the guest sees at once) does not carry the link.
    assert entry_confirm_email_path(held) not in client.get(held_page(held)).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(entry_confirm_email_path(held))
    assert response["Location"] == held_page(held)
    held.refresh_from_db()
    assert held.status == Registration.Status.CONFIRMED
    assert len(mail.outbox) == 2
    # Following it twice is harmless (its payment is started once: payments' tests).
    assert client.post(entry_confirm_email_path(held)).status_code == 302
    held.refresh_from_db()
    assert held.status == Registration.Status.CONFIRMED
    assert len(mail.outbox) == 2


def test_it_takes_nothing_when_the_link_is_only_opened(client, race):
    """Mail scanners open every link of a message: only the page's button confirms."""
    _enter(client, race)
    held = Registration.objects.get()
    page = client.get(entry_confirm_email_path(held))
    assert page.status_code == 200
    assert b"Confirm my entry" in page.content
    held.refresh_from_db()
    assert held.status == Registration.Status.UNVERIFIED
    client.post(entry_confirm_email_path(held))
    # Opened again once confirmed, the link leads to the entry, not to a second button.
    assert client.get(entry_confirm_email_path(held))["Location"] == held_page(held)


def held_page(registration):
    return reverse("events:entry", args=[registration.manage_token])


def test_it_refuses_a_forged_confirmation_link(client, race):
    _enter(client, race)
    held = Registration.objects.get()
    forged = reverse("events:entry_confirm", args=[held.manage_token, "x" * 27])
    page = client.post(forged, follow=True)
    assert b"not valid" in page.content
    held.refresh_from_db()
    assert held.status == Registration.Status.UNVERIFIED


def test_it_takes_the_entry_of_a_logged_in_athlete_at_once(client, race, dave):
    client.force_login(dave)
    _enter(client, race)
    assert Registration.objects.get().status == Registration.Status.CONFIRMED


def test_it_holds_the_entry_of_an_account_whose_address_is_not_verified(
    client, race, django_capture_on_commit_callbacks
):
    """Accounts cost nothing to make (verification is optional): only a verified one is trusted."""
    client.force_login(make_user("fresh", verified=False))
    with django_capture_on_commit_callbacks(execute=True):
        _enter(client, race, email="someone.else@example.com")
    held = Registration.objects.get()
    assert held.status == Registration.Status.UNVERIFIED
    # The link goes to the account's own address, as a guest's goes to theirs.
    (check,) = mail.outbox
    assert check.to == ["fresh@example.com"]
    assert entry_confirm_email_path(held) in check.body
    client.post(entry_confirm_email_path(held))
    held.refresh_from_db()
    assert held.status == Registration.Status.CONFIRMED


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"registration_open": False}, b"Entries for this event are closed."),
        ({"status": Event.Status.CANCELLED}, b"This event is cancelled"),
    ],
)
def test_it_refuses_to_confirm_an_entry_once_the_race_is_closed(client, race, change, reason):
    _enter(client, race)
    held = Registration.objects.get()
    Event.objects.filter(pk=race.event_id).update(**change)
    page = client.post(entry_confirm_email_path(held), follow=True)
    assert reason in page.content
    # Opening the link says so too, instead of offering a button that can only be refused.
    opened = client.get(entry_confirm_email_path(held), follow=True)
    assert reason in opened.content
    assert b"Confirm my entry" not in opened.content
    held.refresh_from_db()
    assert held.status == Registration.Status.UNVERIFIED


def test_it_refuses_to_confirm_an_entry_once_the_race_has_started(client, race):
    start = timezone.now()
    race.start_time = start + dt.timedelta(minutes=30)
    race.save()
    with time_machine.travel(start, tick=False):
        _enter(client, race)
    held = Registration.objects.get()
    with time_machine.travel(start + dt.timedelta(minutes=31), tick=False):
        page = client.post(entry_confirm_email_path(held), follow=True)
    assert b"Entries are closed: this race started" in page.content
    held.refresh_from_db()
    assert held.status == Registration.Status.UNVERIFIED


def test_it_keeps_transfers_and_cancellations_for_confirmed_entries(client, race):
    race.event.allow_cancellation = True
    race.event.save()
    _enter(client, race)
    held = Registration.objects.get()
    client.post(reverse("events:entry_cancel", args=[held.manage_token]))
    held.refresh_from_db()
    assert held.status == Registration.Status.UNVERIFIED


# --- Limits ----------------------------------------------------------------------


def test_it_refuses_a_flood_of_entries_from_one_ip_with_429_and_when_to_retry(
    client, race, settings
):
    settings.ENTRY_HOLDS_PER_IP = 100  # the rate alone, not the cap on held entries
    race.capacity = None
    race.save()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        codes = [_enter(client, race, email=f"bot{n}@example.com").status_code for n in range(60)]
        assert set(codes) == {302}
        refused = _enter(client, race, email="bot60@example.com")
        assert refused.status_code == 429
        assert int(refused["Retry-After"]) > 0
        assert b"Too many entries were sent from your connection" in refused.content
        assert b"try again in" in refused.content
        # Another household is not affected.
        assert _enter(client, race, ip="198.51.100.1", email="n@example.com").status_code == 302
    assert Registration.objects.count() == 61
    with time_machine.travel(start + dt.timedelta(hours=1, minutes=1), tick=False):
        assert _enter(client, race, email="later@example.com").status_code == 302


def test_it_caps_the_entries_one_ip_holds_unconfirmed_in_a_race(client, race):
    """A rate alone let one address keep a whole race held, hour after hour."""
    race.capacity = 40
    race.save()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for n in range(10):
            assert _enter(client, race, email=f"kid{n}@example.com").status_code == 302
        refused = _enter(client, race, email="kid10@example.com")
        assert refused.status_code == 429
        assert 3500 <= int(refused["Retry-After"]) <= 3600
        assert b"waiting to be confirmed in this race" in refused.content
        assert b"sign in with an account whose e-mail address is verified" in refused.content
        assert Registration.objects.count() == 10
        # Another household is not affected, nor a verified account on this one.
        assert _enter(client, race, ip="198.51.100.1", email="n@example.com").status_code == 302
        client.force_login(make_user("secretary"))
        assert _enter(client, race, email="m1@club.example").status_code == 302
        client.logout()
        # A confirmed entry no longer holds a place: its slot frees at once.
        client.post(entry_confirm_email_path(Registration.objects.get(email="kid0@example.com")))
        assert _enter(client, race, email="kid10@example.com").status_code == 302
        assert _enter(client, race, email="kid11@example.com").status_code == 429
    with time_machine.travel(start + dt.timedelta(minutes=61), tick=False):
        assert _enter(client, race, email="kid12@example.com").status_code == 302


def test_it_stores_a_keyed_hash_of_the_entrants_address_not_the_address(client, race):
    _enter(client, race)
    held = Registration.objects.get()
    assert len(held.entered_from) == 64
    assert HOME_IP not in held.entered_from
    # Once confirmed, the entry needs it no longer.
    client.post(entry_confirm_email_path(held))
    held.refresh_from_db()
    assert held.entered_from == ""


def test_it_counts_the_entries_of_one_ipv6_site_together(client, race):
    """A site gets a /48: its 65,536 /64s are one client for entries."""
    race.capacity = None
    race.save()
    for n in range(10):
        entry = _enter(client, race, ip=f"2001:db8:1:{n}::1", email=f"v{n}@example.com")
        assert entry.status_code == 302
    refused = _enter(client, race, ip="2001:db8:1:ff::1", email="v10@example.com")
    assert refused.status_code == 429
    assert _enter(client, race, ip="2001:db8:2::1", email="w@example.com").status_code == 302


def test_it_refuses_a_flood_of_entries_naming_one_email_address(client, race):
    race.capacity = None
    race.save()
    for n in range(10):
        assert _enter(client, race, ip=f"198.51.100.{n}").status_code == 302
    refused = _enter(client, race, ip="198.51.100.200")
    assert refused.status_code == 429
    assert b"for this e-mail address" in refused.content


def test_it_never_refuses_a_family_of_five_on_one_home_ip_with_one_address(client, race):
    race.capacity = None
    race.save()
    family = ["Rita", "Paul", "Lea", "Tom", "Zoe"]
    for name in family:
        # A typo first, then the entry: mistakes do not count against them.
        assert _enter(client, race, first_name=name, birth_date="bad").status_code == 400
        assert _enter(client, race, first_name=name).status_code == 302
    assert Registration.objects.count() == 5


def test_it_never_refuses_a_club_secretary_entering_the_club_one_by_one(client, race):
    race.capacity = None
    race.save()
    client.force_login(make_user("secretary"))
    for n in range(40):
        response = _enter(client, race, first_name=f"Member{n}", email=f"m{n}@club.example")
        assert response.status_code == 302
    assert Registration.objects.filter(status=Registration.Status.CONFIRMED).count() == 40


# --- A closed or full race says so before its form ------------------------------


ENTRY_FORM_TAG = b'class="stack entry-form"'


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"registration_open": False}, b"Entries for this event are closed."),
        ({"status": Event.Status.CANCELLED}, b"This event is cancelled"),
    ],
)
def test_it_says_a_closed_race_is_closed_instead_of_showing_the_form(client, race, change, reason):
    Event.objects.filter(pk=race.event_id).update(**change)
    page = client.get(_url(race))
    assert page.status_code == 200
    assert reason in page.content
    assert ENTRY_FORM_TAG not in page.content


def test_it_says_since_when_a_started_race_is_closed(client, race):
    race.start_time = dt.datetime(2020, 5, 3, 7, 30, tzinfo=dt.UTC)
    race.save()
    page = client.get(_url(race))
    assert b"this race started on Sunday 3 May 2020" in page.content
    assert ENTRY_FORM_TAG not in page.content


def test_it_says_a_full_race_is_full_and_offers_the_waitlist_instead_of_the_form(client, race):
    _enter(client, race)
    page = client.get(_url(race))
    assert b"This race is full" in page.content
    assert reverse("events:waitlist", args=[race.event.slug, race.slug]).encode() in page.content
    assert ENTRY_FORM_TAG not in page.content


# --- Tokens in addresses ------------------------------------------------------------


@pytest.mark.parametrize("token", ["%00", "a%00b", "%C3%A9t%C3%A9", "x" * 300])
def test_it_answers_404_for_a_token_that_cannot_be_one(client, db, token):
    assert client.get(f"/entries/{token}/").status_code == 404


def test_it_refuses_a_waitlist_offer_that_cannot_be_one_with_a_form_error(client, race):
    response = client.post(_url(race) + "?offer=%00", ENTRY_FORM)
    assert response.status_code == 400
    assert b"offer has expired" in response.content
