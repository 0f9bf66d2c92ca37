from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone

from events.demo import LIVE_EVENT_SLUG
from events.demo.catalog import DEMO_EVENTS
from events.models import Race, Registration
from payments.models import Payment
from tracking.models import Kudos, Position


@pytest.fixture
def small_catalogue(monkeypatch: pytest.MonkeyPatch) -> None:
    """One event per demo organizer: the whole catalogue is the core's test's to check."""
    catalogue = {slug: specs[:1] for slug, specs in DEMO_EVENTS.items()}
    monkeypatch.setattr("events.demo.DEMO_EVENTS", catalogue)


def _fix(race: Race, registration: Registration) -> Position:
    now = timezone.now()
    return Position.objects.create(
        race=race, registration=registration, t=now, lat=45.9, lon=6.1, received_at=now
    )


@pytest.mark.django_db
def test_it_seeds_every_apps_part_once(
    small_catalogue: None, capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("seed_demo")
    out = capsys.readouterr().out
    assert "Demo data ready (3 new events)." in out
    assert "alice@pace.local" in out and "admin@pace.local" in out
    assert "password pace-demo-2026" in out
    # Payments' part: one payment per entry, the free ones paid.
    entries = Registration.objects.count()
    assert entries > 60
    assert Payment.objects.count() == entries
    assert not Registration.objects.filter(payments__isnull=True).exists()
    free = Payment.objects.filter(amount=0)
    assert free.exists()
    assert free.count() == free.filter(status="paid", paid_at__isnull=False).count()
    on_site = Payment.objects.filter(method="on_site")
    assert {"paid", "due_on_site"} == set(on_site.values_list("status", flat=True))

    call_command("seed_demo")
    assert "(0 new events)" in capsys.readouterr().out
    assert (Registration.objects.count(), Payment.objects.count()) == (entries, entries)


@pytest.mark.django_db
def test_it_clears_tracking_of_the_live_race_it_starts_over_only(small_catalogue: None) -> None:
    call_command("seed_demo")
    live = Race.objects.get(event__slug=LIVE_EVENT_SLUG)
    other = Race.objects.exclude(pk=live.pk)[0]
    kept = _fix(other, other.registrations.all()[0])
    _fix(live, live.registrations.all()[0])
    Kudos.objects.create(registration=live.registrations.all()[0], from_name="Fan")
    Race.objects.filter(pk=live.pk).update(start_time=live.start_time - dt.timedelta(hours=1))

    call_command("seed_demo")
    assert list(Position.objects.all()) == [kept]
    assert not Kudos.objects.exists()
    live.refresh_from_db()
    assert timezone.now() - live.start_time < dt.timedelta(minutes=1)
