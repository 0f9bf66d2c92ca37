"""The waitlist of a full race: join, offer freed places in turn, expire offers and holds."""

from __future__ import annotations

import datetime as dt
import functools
import secrets
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from events import payment_providers
from events.models import Race, Registration, WaitlistEntry
from events.registration import HELD_STATUSES, RegistrationError, places_left


def waitlist_join(*, race: Race, name: str, email: str, user: Any | None) -> WaitlistEntry:
    """Put someone in line; joining twice with one e-mail keeps the first place in line."""
    existing = race.waitlist.filter(
        email__iexact=email, status__in=[WaitlistEntry.Status.WAITING, WaitlistEntry.Status.OFFERED]
    ).first()
    if existing is not None:
        return existing
    if places_left(race=race) != 0:
        raise RegistrationError("This race still has places: enter directly.")
    return WaitlistEntry.objects.create(
        race=race,
        name=name,
        email=email,
        user=user if user is not None and user.is_authenticated else None,
    )


@transaction.atomic
def waitlist_offer_places(*, race_id: int) -> list[WaitlistEntry]:
    """Offer every free place of a race to the next people in line, each for a limited time."""
    race = Race.objects.select_for_update(of=("self",)).get(pk=race_id)
    free = places_left(race=race)
    if not free:
        return []
    expires = timezone.now() + dt.timedelta(hours=settings.WAITLIST_OFFER_HOURS)
    offered = list(race.waitlist.filter(status=WaitlistEntry.Status.WAITING)[:free])
    for entry in offered:
        entry.status = WaitlistEntry.Status.OFFERED
        entry.offer_token = secrets.token_urlsafe(32)
        entry.offer_expires_at = expires
        entry.save(update_fields=["status", "offer_token", "offer_expires_at"])
    if offered:
        from events.tasks import send_waitlist_offer

        for entry in offered:
            transaction.on_commit(functools.partial(send_waitlist_offer.delay, entry.pk))
    return offered


def release_expired(*, now: dt.datetime | None = None) -> set[int]:
    """Cancel entries past their hold (unpaid, or e-mail not confirmed) and expire old
    offers; returns races to refill."""
    now = now or timezone.now()
    races: set[int] = set()
    stale = Registration.objects.filter(status__in=HELD_STATUSES, hold_expires_at__lte=now)
    for registration in stale.select_related("race"):
        with transaction.atomic():
            # A conditional update: if a webhook or the e-mailed link confirmed it
            # meanwhile, 0 rows and we skip.
            updated = Registration.objects.filter(
                pk=registration.pk, status=registration.status, hold_expires_at__lte=now
            ).update(status=Registration.Status.CANCELLED, cancelled_at=now)
            if updated:
                payment_providers.get().payment_expire(registration=registration)
                races.add(registration.race_id)
    offers = WaitlistEntry.objects.filter(
        status=WaitlistEntry.Status.OFFERED, offer_expires_at__lte=now
    )
    races |= set(offers.values_list("race_id", flat=True))
    offers.update(status=WaitlistEntry.Status.EXPIRED)
    return races
