"""Price tiers, discount codes, teams, the waitlist, transfers and cancellations."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from events.entry_changes import bibs_assign, registration_cancel
from events.models import DiscountCode, PriceTier, Registration, WaitlistEntry
from events.notifications import entry_confirm_email_path
from events.pricing import platform_fee, quote
from events.registration import RegistrationError, registration_create
from events.tasks import release_expired_places
from events.tests.factories import ENTRY_FORM, teammates_form

ENTRY = ENTRY_FORM


@pytest.fixture
def race(alpha_event):
    return alpha_event.races.get()


def _enter(client, race, **extra):
    return client.post(
        reverse("events:enter", args=[race.event.slug, race.slug]), {**ENTRY, **extra}
    )


def _direct(race, **kw):
    entry = {**ENTRY, "birth_date": dt.date(1980, 5, 2)}
    return registration_create(race=race, user=None, entry=entry, answers={}, **kw)


def test_it_charges_the_early_bird_price_until_its_date(client, race):
    now = timezone.now()
    PriceTier.objects.create(
        race=race, name="Early bird", price=15, until=now + dt.timedelta(days=1)
    )
    PriceTier.objects.create(race=race, name="Late", price=20, until=now + dt.timedelta(days=9))
    assert quote(race=race).price == Decimal("15.00")
    _enter(client, race)
    assert Registration.objects.get().price == Decimal("15.00")
    PriceTier.objects.filter(name="Early bird").update(until=now - dt.timedelta(minutes=1))
    assert quote(race=race).tier == "Late"
    PriceTier.objects.all().delete()
    assert quote(race=race).price == Decimal("25.00")


@pytest.mark.parametrize(
    ("kind", "amount", "price"),
    [
        ("percent", 20, "20.00"),
        ("fixed", 5, "20.00"),
        ("fixed", 99, "0.00"),
        ("percent", 150, "0.00"),
    ],
)
def test_it_applies_discount_codes(race, kind, amount, price):
    DiscountCode.objects.create(event=race.event, code="RUN", kind=kind, amount=amount)
    entry = _direct(race, code="run ")
    assert entry.price == Decimal(price)
    assert entry.list_price == Decimal("25.00")
    assert entry.discount_code.code == "RUN"


def test_it_refuses_unusable_codes_with_a_reason(client, race, bravo_event):
    DiscountCode.objects.create(event=race.event, code="ONCE", amount=10, max_uses=1)
    DiscountCode.objects.create(
        event=race.event, code="OLD", amount=10, valid_until=timezone.now() - dt.timedelta(days=1)
    )
    DiscountCode.objects.create(event=bravo_event, code="BRAVO", amount=10)
    _direct(race, code="ONCE")
    for code, reason in [
        ("ONCE", b"used up"),
        ("OLD", b"expired"),
        ("BRAVO", b"not valid"),
        ("NOPE", b"not valid"),
    ]:
        response = _enter(client, race, code=code)
        assert response.status_code == 400
        assert reason in response.content
    assert Registration.objects.count() == 1


def test_it_takes_a_relay_team_with_one_payer(client, race):
    race.team_size = 3
    race.capacity = 1
    race.save()
    mates = teammates_form(("Ann", "1990-01-01", "F"), ("Ben", "1991-01-01", "M"))
    assert _enter(client, race, team_name="Fast Three", **mates).status_code == 302
    payer = Registration.objects.get(first_name="Rita")
    assert payer.team.name == "Fast Three"
    assert payer.team.members.count() == 3
    client.post(entry_confirm_email_path(payer))
    assert set(payer.team.members.values_list("status", flat=True)) == {"confirmed"}
    payer.refresh_from_db()
    assert payer.price == Decimal("25.00")
    assert Registration.objects.exclude(pk=payer.pk).filter(price=0).count() == 2
    # A team takes one place: the race of capacity 1 is now full.
    assert b"This race is full" in _enter(client, race, team_name="Late", **mates).content
    missing = {**mates, "mate-1-first_name": ""}
    race.capacity = 5
    race.save()
    assert _enter(client, race, team_name="Two", **missing).status_code == 400


def test_it_offers_a_freed_place_to_the_waitlist_in_turn(
    client, race, django_capture_on_commit_callbacks
):
    race.capacity = 1
    race.save()
    first = _direct(race)
    page = _enter(client, race)
    assert b"Join the waitlist" in page.content
    url = reverse("events:waitlist", args=[race.event.slug, race.slug])
    client.post(url, {"name": "Wendy", "email": "w@example.com"})
    client.post(url, {"name": "Xavi", "email": "x@example.com"})
    client.post(url, {"name": "Wendy again", "email": "W@example.com"})
    assert list(race.waitlist.values_list("name", flat=True)) == ["Wendy", "Xavi"]
    mail.outbox.clear()
    race.event.allow_cancellation = True
    race.event.save()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("events:entry_cancel", args=[first.manage_token]))
    first.refresh_from_db()
    assert first.status == "cancelled"
    wendy = race.waitlist.get(name="Wendy")
    assert wendy.status == "offered"
    [offer] = [m for m in mail.outbox if m.to == ["w@example.com"]]
    assert wendy.offer_token in offer.body
    # The offered place is held: a walk-in cannot take it, Wendy can.
    assert b"This race is full" in _enter(client, race).content
    response = client.post(
        reverse("events:enter", args=[race.event.slug, race.slug]) + f"?offer={wendy.offer_token}",
        ENTRY,
    )
    assert response.status_code == 302
    wendy.refresh_from_db()
    assert wendy.status == "accepted"
    again = client.post(
        reverse("events:enter", args=[race.event.slug, race.slug]) + f"?offer={wendy.offer_token}",
        ENTRY,
    )
    assert b"expired or was already used" in again.content


def test_it_expires_offers_and_holds_and_moves_the_line(race):
    race.capacity = 1
    race.save()
    entry = _direct(race)
    WaitlistEntry.objects.create(race=race, name="Wendy", email="w@example.com")
    WaitlistEntry.objects.create(race=race, name="Xavi", email="x@example.com")
    Registration.objects.filter(pk=entry.pk).update(
        status="pending", hold_expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    assert release_expired_places.apply().get() == 1
    assert Registration.objects.get(pk=entry.pk).status == "cancelled"
    wendy = race.waitlist.get(name="Wendy")
    assert wendy.status == "offered"
    race.waitlist.filter(pk=wendy.pk).update(
        offer_expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    release_expired_places.apply()
    assert race.waitlist.get(name="Wendy").status == "expired"
    assert race.waitlist.get(name="Xavi").status == "offered"


def test_it_transfers_an_entry_when_allowed(client, race):
    entry = _direct(race)
    url = reverse("events:entry_transfer", args=[entry.manage_token])
    new = {**ENTRY, "first_name": "Tom", "last_name": "New", "email": "tom@example.com", "sex": "M"}
    assert b"does not allow" in client.post(url, new).content
    race.event.allow_transfers = True
    race.event.save()
    response = client.post(url, new)
    entry.refresh_from_db()
    # The old holder is not shown the new holder's page (its link is e-mailed to them).
    assert response["Location"] == race.event.get_absolute_url()
    assert entry.manage_token not in response["Location"]
    assert entry.name == "Tom New" and entry.email == "tom@example.com"
    assert client.get(url).status_code == 404  # the old link stopped working
    assert entry.changes.get().detail == {"from": "Rita Runner", "to": "Tom New"}


def test_it_refuses_changes_after_the_deadline(race):
    race.event.allow_cancellation = True
    race.event.changes_until = timezone.localdate() - dt.timedelta(days=1)
    race.event.save()
    entry = _direct(race)
    with pytest.raises(RegistrationError, match="deadline"):
        registration_cancel(registration=entry)
    assert registration_cancel(registration=entry, by_organizer=True).status == "cancelled"


def test_it_assigns_bibs_from_the_race_range_unique_per_event(race):
    race.bib_from, race.bib_to = 100, 101
    race.save()
    a, b = _direct(race), _direct(race)
    Registration.objects.filter(pk=a.pk).update(bib="100")
    assert bibs_assign(race=race) == 1
    assert Registration.objects.get(pk=b.pk).bib == "101"
    _direct(race)
    with pytest.raises(RegistrationError, match="used up"):
        bibs_assign(race=race)


def test_it_computes_the_platform_fee(settings):
    settings.PLATFORM_FEE_PERCENT, settings.PAYMENT_FEE_PERCENT, settings.PAYMENT_FEE_FIXED = (
        5,
        1.5,
        0.25,
    )
    assert platform_fee(Decimal("100")) == Decimal("6.75")
    assert platform_fee(Decimal("0")) == Decimal("0.00")
    assert platform_fee(Decimal("0.10")) == Decimal("0.10")
