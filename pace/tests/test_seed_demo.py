"""seed_demo runs every app's part once; run again, it starts the live race over.

The demo is seeded once for the module (it is the slow part) and rolled back after it;
each test runs in its own savepoint on top.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from events.demo import LIVE_EVENT_SLUG
from events.demo.catalog import DEMO_EVENTS
from events.models import Race, Registration
from pace.lib.testing import shared_rows
from payments.models import Payment
from tracking.models import Kudos, Position

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def seeded(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    """seed_demo's output, on a demo with one event per demo organizer (the whole
    catalogue is the core's test's to check)."""
    catalogue = {slug: specs[:1] for slug, specs in DEMO_EVENTS.items()}
    with pytest.MonkeyPatch.context() as patch, shared_rows(django_db_blocker):
        patch.setattr("events.demo.DEMO_EVENTS", catalogue)
        out = io.StringIO()
        call_command("seed_demo", stdout=out)
        yield out.getvalue()


def _fix(race: Race, registration: Registration) -> Position:
    now = timezone.now()
    return Position.objects.create(
        race=race, registration=registration, t=now, lat=45.9, lon=6.1, received_at=now
    )


def test_it_seeds_every_apps_part_once(seeded: str, capsys: pytest.CaptureFixture[str]) -> None:
    out = seeded
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


def test_it_clears_tracking_of_the_live_race_it_starts_over_only(seeded: str) -> None:
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
