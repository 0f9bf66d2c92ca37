"""Entering a race: checks, price, category, capacity, teams, confirmation.

Capacity is enforced with the race row locked (``SELECT ... FOR UPDATE`` on
PostgreSQL; SQLite serialises writers with ``BEGIN IMMEDIATE``), so the last
place goes to exactly one of many concurrent buyers. A place counts as taken
by a confirmed entry, by a pending entry whose payment hold has not expired,
by a guest's entry awaiting its e-mail confirmation within its hold, and by an
open waitlist offer. A team or relay takes one place.

A guest (no account) could otherwise fill a race with made-up addresses: a
guest's entry that needs no online payment holds its place only until the link
e-mailed to it is followed (``ENTRY_EMAIL_HOLD_MINUTES``), and is released by
the same ``release_expired`` as an unpaid one. An entry paid online is held
until paid instead: a card payment is a stronger proof than an e-mail.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import secrets
from typing import Any, cast

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import dateformat, timezone
from django.utils.crypto import constant_time_compare

from events import payment_providers, pricing
from events.localtime import venue_date
from events.models import Race, RaceCategory, RaceQuestion, Registration, Team, WaitlistEntry
from events.tasks import send_entry_email_check, send_registration_confirmation

ENTRY_FIELDS = (
    "email", "first_name", "last_name", "birth_date", "sex", "nationality", "club",
    "emergency_name", "emergency_phone", "tshirt_size",
)  # fmt: skip


class RegistrationError(ValueError):
    """An entry that cannot be taken; the message is shown to the athlete."""


class RaceFullError(RegistrationError):
    """No place left: the athlete may join the waitlist."""


class TooManyHeldError(RegistrationError):
    """The sender's connection already holds ``ENTRY_HOLDS_PER_IP`` unconfirmed entries here."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


_TOKEN = re.compile(r"[-\w]{1,64}", re.ASCII)

# Entries that hold a place until their hold expires (unpaid, or e-mail not yet confirmed).
HELD_STATUSES = (Registration.Status.PENDING, Registration.Status.UNVERIFIED)


def race_day(race: Race) -> dt.date:
    """The day of the start at the venue: a 00:30 start in Paris is not the UTC day before."""
    return venue_date(race.start_time, zone=race.event.local_tz)


def age_on(birth_date: dt.date, day: dt.date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def category_for(*, race: Race, birth_date: dt.date, sex: str) -> RaceCategory | None:
    """The race's category for this athlete, by age on race day and sex."""
    age = age_on(birth_date, race_day(race))
    candidates = race.categories.filter(Q(sex="") | Q(sex=sex))
    for category in candidates.order_by("-sex", "-min_age"):
        if (category.min_age or 0) <= age and (category.max_age is None or age <= category.max_age):
            return category
    return None


def active_entries(race: Race) -> Q:
    """Entries holding a place: confirmed, or held (payment, e-mail) with an unexpired hold."""
    held = Q(status__in=HELD_STATUSES, hold_expires_at__gt=timezone.now())
    return Q(race=race) & (Q(status=Registration.Status.CONFIRMED) | held)


def places_taken(*, race: Race) -> int:
    entries = Registration.objects.filter(active_entries(race))
    solo = entries.filter(team__isnull=True).count()
    teams = entries.filter(team__isnull=False).values("team").distinct().count()
    offers = race.waitlist.filter(
        status=WaitlistEntry.Status.OFFERED, offer_expires_at__gt=timezone.now()
    ).count()
    return solo + teams + offers


def places_left(*, race: Race) -> int | None:
    """Free places (None when the race has no limit)."""
    return None if race.capacity is None else max(0, race.capacity - places_taken(race=race))


def closed_reason(*, race: Race, now: dt.datetime | None = None) -> str:
    """Why a race takes no entries now ("" when it does), shown before its entry form."""
    event = race.event
    if event.status == event.Status.CANCELLED:
        return "This event is cancelled: it takes no entries."
    if not event.is_public:
        return "This event does not take entries."
    if (now or timezone.now()) >= race.start_time:
        start = dateformat.format(
            timezone.localtime(race.start_time, event.local_tz), "l j F Y, H:i T"
        )
        return f"Entries are closed: this race started on {start}."
    if not event.registration_open:
        return "Entries for this event are closed."
    return ""


def check_open(race: Race) -> None:
    reason = closed_reason(race=race)
    if reason:
        raise RegistrationError(reason)


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


def entrant_is_verified(user: Any | None) -> bool:
    """An account whose primary e-mail address is verified: its entries are taken at once.

    Anyone else's (a guest's, a fresh account's: verification is optional, and accounts
    cost nothing to make) hold their place only until an e-mailed link is followed.
    """
    from allauth.account.models import EmailAddress

    if user is None or not user.is_authenticated:
        return False
    verified: bool = EmailAddress.objects.filter(user=user, primary=True, verified=True).exists()
    return verified


def _check_holds_of(race: Race, entered_from: str) -> None:
    """Refuse past ``ENTRY_HOLDS_PER_IP`` held entries of one connection in a race.

    Counted from the database with the race locked, so it holds across processes and
    frees as holds are confirmed or expire, where a rate let one address keep a race held.
    """
    now = timezone.now()
    held = Registration.objects.filter(
        race=race, entered_from=entered_from, status__in=HELD_STATUSES, hold_expires_at__gt=now
    )
    limit = settings.ENTRY_HOLDS_PER_IP
    if held.count() < limit:
        return
    # Never None: the filter on hold_expires_at leaves out entries without one.
    first_free = min(
        cast("QuerySet[Any, dt.datetime]", held.values_list("hold_expires_at", flat=True))
    )
    raise TooManyHeldError(
        f"{limit} entries sent from your connection are waiting to be confirmed in this race "
        "(by the link we e-mailed, or by payment): confirm them, or try again later. To enter "
        "more people, sign in with an account whose e-mail address is verified: its entries "
        "are taken at once.",
        retry_after=max(1, math.ceil((first_free - now).total_seconds())),
    )


def _claim_place(race: Race, offer_token: str) -> WaitlistEntry | None:
    """Check a place is free, or that ``offer_token`` holds one; returns the offer used."""
    if offer_token:
        # Any text may come in ``?offer=``: only a token's characters reach the database.
        if not _TOKEN.fullmatch(offer_token):
            raise RegistrationError("This waitlist offer has expired or was already used.")
        offer = (
            race.waitlist.select_for_update()
            .filter(offer_token=offer_token, status=WaitlistEntry.Status.OFFERED)
            .first()
        )
        expires_at = offer.offer_expires_at if offer is not None else None
        if expires_at is None or expires_at <= timezone.now():  # an offered entry has one
            raise RegistrationError("This waitlist offer has expired or was already used.")
        return offer
    if race.capacity is not None and places_taken(race=race) >= race.capacity:
        raise RaceFullError("This race is full.")
    return None


def _new_registration(
    race: Race, user: Any, entry: dict[str, Any], answers: dict[str, Any], team: Team | None
) -> Registration:
    if age_on(entry["birth_date"], race_day(race)) < 0:
        raise RegistrationError("The birth date is after the race.")
    return Registration(
        race=race,
        event=race.event,
        team=team,
        user=user if user is not None and user.is_authenticated else None,
        **{name: entry.get(name) or "" for name in ENTRY_FIELDS},
        category=category_for(race=race, birth_date=entry["birth_date"], sex=entry["sex"]),
        answers=answers,
        currency=race.event.currency,
        waiver_accepted_at=timezone.now(),
        manage_token=secrets.token_urlsafe(32),
        price=0,
    )


@transaction.atomic
def registration_create(
    *,
    race: Race,
    user: Any | None,
    entry: dict[str, Any],
    answers: dict[str, Any],
    code: str = "",
    offer_token: str = "",
    team_name: str = "",
    teammates: list[dict[str, Any]] | None = None,
    hold_for_email: bool = False,
    entered_from: str = "",
) -> Registration:
    """Take an entry (with its team-mates for a team race) if a place is free.

    Returns the paying registration; its payment says whether the athlete must
    still pay online. The confirmation e-mail goes after commit. With
    ``hold_for_email`` (a guest's entry) an entry paid offline is only held until
    its e-mail is confirmed (``registration_confirm_email``). ``entered_from``
    (``ratelimits.ip_digest`` of the sender's connection) is kept on a held entry, and a
    connection holds at most ``ENTRY_HOLDS_PER_IP`` of them in a race at once.
    """
    race = Race.objects.select_for_update(of=("self",)).select_related("event").get(pk=race.pk)
    check_open(race)
    teammates = teammates or []
    if len(teammates) != race.team_size - 1:
        raise RegistrationError(f"A team in this race has {race.team_size} members.")
    if hold_for_email and entered_from:
        _check_holds_of(race, entered_from)
    offer = _claim_place(race, offer_token)
    try:
        price = pricing.quote(race=race, code=code, lock=True)
    except pricing.DiscountError as exc:
        raise RegistrationError(str(exc)) from exc
    team = (
        Team.objects.create(race=race, name=team_name or entry["last_name"]) if teammates else None
    )
    payer = _new_registration(race, user, entry, _check_answers(race, answers), team)
    payer.list_price, payer.price, payer.discount_code = price.list_price, price.price, price.code
    if hold_for_email:
        # On the paying entry alone: a team holds one place, so counts once. Kept whether the
        # entry is held for its e-mail or for its online payment: both hold a place.
        payer.entered_from = entered_from
    payer.save()
    for mate in teammates:
        _new_registration(race, None, {**entry, **mate}, {}, team).save()
    if offer is not None:
        offer.status = WaitlistEntry.Status.ACCEPTED
        offer.save(update_fields=["status"])
    if hold_for_email and not _pays_online(payer):
        _hold_for_email(payer)
        return payer
    payment_providers.get().payment_start(registration=payer)
    if payer.status == Registration.Status.CONFIRMED:
        transaction.on_commit(lambda: send_registration_confirmation.delay(payer.pk))
    return payer


def _pays_online(registration: Registration) -> bool:
    return payment_providers.get().pays_online(registration=registration)


def entries_of(registration: Registration) -> QuerySet[Registration]:
    """The entries one payment pays for: the registration, or its whole team."""
    if registration.team_id:
        return Registration.objects.filter(team_id=registration.team_id)
    return Registration.objects.filter(pk=registration.pk)


def _hold_for_email(payer: Registration) -> None:
    """Hold the entry's place (its team's too) until the e-mailed link is followed."""
    payer.status = Registration.Status.UNVERIFIED
    payer.hold_expires_at = timezone.now() + dt.timedelta(minutes=settings.ENTRY_EMAIL_HOLD_MINUTES)
    entries_of(payer).update(status=payer.status, hold_expires_at=payer.hold_expires_at)
    transaction.on_commit(lambda: send_entry_email_check.delay(payer.pk))


_EMAIL_KEY_SALT = "events.registration.email"


def email_confirmation_key(*, registration: Registration) -> str:
    """The secret of the link e-mailed to a guest; the entry page's own link never shows it."""
    return signing.Signer(salt=_EMAIL_KEY_SALT).signature(registration.manage_token)


@transaction.atomic
def registration_confirm_email(
    *, registration: Registration, key: str, now: dt.datetime | None = None
) -> Registration:
    """The guest followed the e-mailed link: the held entry is taken (and paid as usual).

    Following the link again is harmless; following it after the hold ran out is
    refused, as the place may have gone to someone else, and so is following it once the
    race takes no entries (event cancelled, entries closed, race started).
    """
    if not constant_time_compare(key, email_confirmation_key(registration=registration)):
        raise RegistrationError("This confirmation link is not valid.")
    now = now or timezone.now()
    race = Race.objects.select_related("event").get(pk=registration.race_id)
    reason = closed_reason(race=race, now=now)
    claimed = 0
    if not reason:
        claimed = Registration.objects.filter(
            pk=registration.pk, status=Registration.Status.UNVERIFIED, hold_expires_at__gt=now
        ).update(status=Registration.Status.PENDING, hold_expires_at=None, entered_from="")
    registration.refresh_from_db()
    if not claimed:
        if registration.status in (Registration.Status.CONFIRMED, Registration.Status.PENDING):
            return registration
        if reason:
            raise RegistrationError(reason)
        raise RegistrationError(
            "This entry was not confirmed in time and its place was released: please enter again."
        )
    payment_providers.get().payment_start(registration=registration)
    if registration.status == Registration.Status.CONFIRMED:
        transaction.on_commit(lambda: send_registration_confirmation.delay(registration.pk))
    return registration
