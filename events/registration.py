"""Entering a race: price, category, capacity, confirmation.

Capacity is enforced with the race row locked (``SELECT ... FOR UPDATE`` on
PostgreSQL; SQLite serialises writers with ``BEGIN IMMEDIATE``), so the last
place goes to exactly one of many concurrent buyers.
"""

from __future__ import annotations

import datetime as dt
import secrets
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from events.models import Race, RaceCategory, RaceQuestion, Registration
from events.tasks import send_registration_confirmation
from payments.checkout import payment_start

ENTRY_FIELDS = (
    "email", "first_name", "last_name", "birth_date", "sex", "nationality", "club",
    "emergency_name", "emergency_phone", "tshirt_size",
)  # fmt: skip


class RegistrationError(ValueError):
    """An entry that cannot be taken; the message is shown to the athlete."""


def registration_price(*, race: Race) -> Decimal:
    """The price of an entry, computed here and only here (never taken from a form)."""
    return Decimal(race.entry_fee).quantize(Decimal("0.01"))


def age_on(birth_date: dt.date, day: dt.date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def category_for(*, race: Race, birth_date: dt.date, sex: str) -> RaceCategory | None:
    """The race's category for this athlete, by age on race day and sex."""
    age = age_on(birth_date, race.start_time.date())
    candidates = race.categories.filter(Q(sex="") | Q(sex=sex))
    for category in candidates.order_by("-sex", "-min_age"):
        if (category.min_age or 0) <= age and (category.max_age is None or age <= category.max_age):
            return category
    return None


def places_taken(*, race: Race) -> int:
    """Confirmed entries plus pending ones whose hold has not expired."""
    held = Q(status=Registration.Status.PENDING, hold_expires_at__gt=timezone.now())
    return race.registrations.filter(Q(status=Registration.Status.CONFIRMED) | held).count()


def _check_open(race: Race) -> None:
    event = race.event
    if not event.is_public or event.status == event.Status.CANCELLED:
        raise RegistrationError("This event does not take entries.")
    if not event.registration_open:
        raise RegistrationError("Entries for this event are closed.")
    if race.start_time <= timezone.now():
        raise RegistrationError("This race has already started.")


def _check_answers(race: Race, answers: dict[str, Any]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for question in race.questions.all():
        value = answers.get(str(question.pk))
        if question.required and value in (None, ""):
            raise RegistrationError(f"Please answer: {question.label}")
        if question.kind == RaceQuestion.Kind.CHOICE and value and value not in question.options:
            raise RegistrationError(f"Not an option for {question.label}: {value}")
        if value not in (None, ""):
            clean[str(question.pk)] = value
    return clean


@transaction.atomic
def registration_create(
    *, race: Race, user: Any | None, entry: dict[str, Any], answers: dict[str, Any]
) -> Registration:
    """Take an entry if a place is free; the confirmation e-mail goes after commit."""
    race = Race.objects.select_for_update(of=("self",)).select_related("event").get(pk=race.pk)
    _check_open(race)
    if age_on(entry["birth_date"], race.start_time.date()) < 0:
        raise RegistrationError("The birth date is after the race.")
    if race.capacity is not None and places_taken(race=race) >= race.capacity:
        raise RegistrationError("This race is full.")
    registration = Registration.objects.create(
        race=race,
        user=user if user is not None and user.is_authenticated else None,
        **{name: entry.get(name, "") for name in ENTRY_FIELDS},
        category=category_for(race=race, birth_date=entry["birth_date"], sex=entry["sex"]),
        answers=_check_answers(race, answers),
        price=registration_price(race=race),
        currency=race.event.currency,
        waiver_accepted_at=timezone.now(),
        manage_token=secrets.token_urlsafe(32),
    )
    payment_start(registration=registration)
    transaction.on_commit(lambda: send_registration_confirmation.delay(registration.pk))
    return registration
