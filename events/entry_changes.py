"""Changes to an entry after it was taken: transfer, cancellation, check-in, bibs."""

from __future__ import annotations

import secrets
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from events import payment_providers
from events.models import Race, Registration, RegistrationChange
from events.registration import ENTRY_FIELDS, RegistrationError, category_for
from events.signals import registration_transferred


def _changes_allowed(registration: Registration, flag: str) -> None:
    event = registration.event
    if not getattr(event, flag):
        raise RegistrationError("The organizer does not allow this for this event.")
    if registration.status == Registration.Status.CANCELLED:
        raise RegistrationError("This entry is cancelled.")
    if registration.status == Registration.Status.UNVERIFIED:
        raise RegistrationError("Confirm your e-mail address first (follow the link we sent).")
    if event.changes_until and timezone.localdate(timezone=event.local_tz) > event.changes_until:
        raise RegistrationError("The deadline for changes has passed.")
    if registration.race.start_time <= timezone.now():
        raise RegistrationError("The race has started.")


@transaction.atomic
def registration_transfer(
    *, registration: Registration, entry: dict[str, Any], actor: Any = None
) -> Registration:
    """Pass an entry to another athlete: new details, new category, new manage link."""
    registration = Registration.objects.select_for_update().get(pk=registration.pk)
    _changes_allowed(registration, "allow_transfers")
    if registration.status == Registration.Status.PENDING:
        # Its payment and the way back from it are the holder's: settle first.
        raise RegistrationError("Pay for the entry before passing it on.")
    before = registration.name
    for name in ENTRY_FIELDS:
        setattr(registration, name, entry.get(name) or "")
    registration.user = None
    registration.category = category_for(
        race=registration.race, birth_date=entry["birth_date"], sex=entry["sex"]
    )
    registration.manage_token = secrets.token_urlsafe(32)
    registration.checked_in_at = None
    registration.save()
    RegistrationChange.objects.create(
        registration=registration, kind="transfer", actor=_actor(actor),
        detail={"from": before, "to": registration.name},
    )  # fmt: skip
    # The previous holder's tracking token and device must not track the new holder.
    registration_transferred.send(sender=Registration, registration_id=registration.pk)
    from events.tasks import send_registration_confirmation

    transaction.on_commit(lambda: send_registration_confirmation.delay(registration.pk))
    return registration


@transaction.atomic
def registration_cancel(
    *, registration: Registration, actor: Any = None, by_organizer: bool = False
) -> Registration:
    """Cancel an entry (and its team); the freed place goes to the waitlist."""
    registration = Registration.objects.select_for_update().get(pk=registration.pk)
    if not by_organizer:
        _changes_allowed(registration, "allow_cancellation")
    if registration.status == Registration.Status.CANCELLED:
        return registration
    now = timezone.now()
    members = registration.team.members.all() if registration.team is not None else [registration]
    for member in members:
        member.status, member.cancelled_at = Registration.Status.CANCELLED, now
        member.save(update_fields=["status", "cancelled_at"])
    # An unpaid card payment of a cancelled entry will never complete.
    payment_providers.get().payment_expire(registration=registration)
    RegistrationChange.objects.create(
        registration=registration, kind="cancel", actor=_actor(actor),
        detail={"by_organizer": by_organizer},
    )  # fmt: skip
    from events.tasks import send_registration_cancelled
    from events.waitlist import waitlist_offer_places

    race_id, registration_id = registration.race_id, registration.pk
    transaction.on_commit(lambda: waitlist_offer_places(race_id=race_id))
    transaction.on_commit(
        lambda: send_registration_cancelled.delay(registration_id, by_organizer), robust=True
    )
    return registration


def registration_check_in(*, registration: Registration, actor: Any = None) -> bool:
    """Mark an athlete as present at bib collection; False when already checked in."""
    updated = Registration.objects.filter(
        pk=registration.pk, checked_in_at__isnull=True, status=Registration.Status.CONFIRMED
    ).update(checked_in_at=timezone.now())
    if updated:
        RegistrationChange.objects.create(
            registration=registration, kind="check_in", actor=_actor(actor)
        )
    return bool(updated)


def bib_set(*, registration: Registration, bib: str, actor: Any = None) -> None:
    """Give an entry a bib by hand; bibs are unique per event."""
    bib = bib.strip()
    try:
        with transaction.atomic():
            Registration.objects.filter(pk=registration.pk).update(bib=bib)
    except IntegrityError as exc:
        raise RegistrationError(f"Bib {bib} is already taken in this event.") from exc
    RegistrationChange.objects.create(
        registration=registration, kind="bib", actor=_actor(actor), detail={"bib": bib}
    )


@transaction.atomic
def bibs_assign(*, race: Race, actor: Any = None) -> int:
    """Give every confirmed entry of a race without a bib the next free number of its range."""
    race = Race.objects.select_for_update(of=("self",)).get(pk=race.pk)
    if race.bib_from is None or race.bib_to is None or race.bib_to < race.bib_from:
        raise RegistrationError(f"Set the bib range of {race.name} first.")
    taken = set(
        Registration.objects.filter(event_id=race.event_id)
        .exclude(bib="")
        .values_list("bib", flat=True)
    )
    free = (str(n) for n in range(race.bib_from, race.bib_to + 1) if str(n) not in taken)
    waiting = race.registrations.filter(status=Registration.Status.CONFIRMED, bib="")
    count = 0
    for registration in waiting.order_by("created_at", "pk"):
        bib = next(free, None)
        if bib is None:
            raise RegistrationError(f"The bib range of {race.name} is used up.")
        registration.bib = bib
        registration.save(update_fields=["bib"])
        count += 1
    return count


def _actor(actor: Any) -> Any:
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None
