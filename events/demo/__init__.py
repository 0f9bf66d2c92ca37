"""The core's demo data: organizers, members, events with generated courses, and entries.

Courses are synthesised (no network): a smooth closed loop, out-and-back or
point-to-point line around a real start, with rolling or mountain elevation,
written as GPX and read back through the same ``course_create`` as uploads.

The apps above seed their own parts from what ``demo_seed`` reports (payments for
the entries it added, tracking's clean slate for the races it started over);
``python manage.py seed_demo`` in ``pace`` calls them all in order.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from events.courses import course_create
from events.demo.catalog import DEMO_EVENTS, DEMO_ORGANIZERS, SUMMARIES, DemoEvent
from events.demo.entries import demo_categories, demo_entries
from events.demo.live import LIVE_EVENT_SLUG, annecy_loop_race, live_demo_race, seed_live_demo
from events.models import (
    DiscountCode,
    Event,
    Membership,
    Organizer,
    PriceTier,
    Race,
    Registration,
    Sport,
)
from events.organizers import membership_add
from pace.lib.gpxsynth import synth_course_gpx

DEMO_PASSWORD = "pace-demo-2026"
TIMEZONES = {
    "AT": "Europe/Vienna", "BE": "Europe/Brussels", "CH": "Europe/Zurich", "CZ": "Europe/Prague",
    "DE": "Europe/Berlin", "DK": "Europe/Copenhagen", "ES": "Europe/Madrid", "FR": "Europe/Paris",
    "GB": "Europe/London", "IE": "Europe/Dublin", "IT": "Europe/Rome", "NL": "Europe/Amsterdam",
    "PL": "Europe/Warsaw", "PT": "Europe/Lisbon", "SE": "Europe/Stockholm",
}  # fmt: skip

__all__ = [
    "DEMO_PASSWORD",
    "LIVE_EVENT_SLUG",
    "CoreDemo",
    "annecy_loop_race",
    "demo_seed",
    "live_demo_race",
]


@dataclass(frozen=True)
class CoreDemo:
    """What one run of the core's demo did, for the apps above to seed their parts."""

    created_events: int
    logins: list[tuple[str, str]]  # (e-mail, role), all with DEMO_PASSWORD
    entries: list[Registration]  # added by this run, none paid for yet
    live_race: Race
    restarted: list[Race]  # races starting over: what was stored of their last run goes


def _user(email: str, *, staff: bool = False) -> object:
    user_model = get_user_model()
    user = user_model.objects.filter(email=email).first()
    if user is None:
        user = user_model.objects.create_user(
            username=email.split("@")[0], email=email, password=DEMO_PASSWORD
        )
        # Verified, as after a sign-up link: a demo athlete's entries are taken at once.
        EmailAddress.objects.create(user=user, email=email, primary=True, verified=True)
    if staff and not user.is_superuser:
        user.is_staff = user.is_superuser = True
        user.save(update_fields=["is_staff", "is_superuser"])
    return user


def _event(
    organizer: Organizer, spec: DemoEvent, index: int, today: dt.date
) -> list[Registration] | None:
    """The event with its races and their entries (those returned), or None if it exists."""
    slug = slugify(spec.name)
    if Event.objects.filter(slug=slug).exists():
        return None
    start = today + dt.timedelta(days=spec.days_ahead)
    long_event = spec.sport == Sport.TRIATHLON or spec.races[0][1] >= 80000
    event = Event.objects.create(
        organizer=organizer, name=spec.name, slug=slug, sport=spec.sport,
        summary=SUMMARIES[spec.sport],
        description=f"{spec.name} in {spec.place}.\n\nStart and finish in the centre. "
        "Timing chips, medals and a finisher's shirt for everyone.",
        start_date=start, end_date=start + dt.timedelta(days=1 if long_event else 0),
        place=spec.place, region=spec.region, country=spec.country,
        latitude=spec.lat, longitude=spec.lon, status=Event.Status.PUBLISHED,
        currency="GBP" if spec.country == "GB" else "EUR", timezone=TIMEZONES[spec.country],
        allow_transfers=index % 2 == 0, allow_cancellation=index % 2 == 0,
    )  # fmt: skip
    DiscountCode.objects.create(event=event, code="WELCOME10", amount=10, max_uses=100)
    entries: list[Registration] = []
    for k, (name, metres, fee) in enumerate(spec.races):
        climb = round(spec.climb * metres / spec.races[0][1])
        gpx = synth_course_gpx(
            name=f"{spec.name} {name}", lat=spec.lat, lon=spec.lon, distance_m=metres,
            shape=spec.shape, climb_m=climb, seed=index * 10 + k,
        )  # fmt: skip
        course = course_create(organizer=organizer, gpx_data=gpx, name=f"{spec.name}: {name}")
        start_time = dt.datetime.combine(start, dt.time(8 + k, 30), tzinfo=event.local_tz)
        race = Race.objects.create(
            event=event, name=name, slug=slugify(name), distance_m=metres,
            elevation_gain_m=round(course.elevation_gain_m), start_time=start_time,
            time_limit=dt.timedelta(hours=max(2, round(metres / 6000))),
            capacity=[3000, 1500, 800][k % 3], entry_fee=fee, course=course,
            bib_from=1 + 5000 * k, bib_to=5000 * (k + 1),
        )  # fmt: skip
        demo_categories(race)
        early_until = start_time - dt.timedelta(days=21)
        if index % 3 == 0 and early_until > timezone.now():
            PriceTier.objects.create(
                race=race, name="Early bird", price=round(fee * 0.8), until=early_until
            )
        count = min(race.capacity or 0, 40 + (index * 37 + k * 11) % 160)
        entries += demo_entries(race=race, count=count, seed=index * 10 + k)
    return entries


@transaction.atomic
def demo_seed() -> CoreDemo:
    """Create the demo organizers, members and events; running it again adds nothing
    (but the live race's athletes it lacks, and a new start for it once it is old)."""
    today = timezone.localdate()
    _user("admin@pace.local", staff=True)
    created, logins = 0, [("admin@pace.local", "platform staff")]
    entries: list[Registration] = []
    index = 0
    for slug, (name, country, owner_email, staff_email) in DEMO_ORGANIZERS.items():
        organizer, _ = Organizer.objects.get_or_create(
            slug=slug,
            defaults={"name": name, "country": country, "contact_email": owner_email,
                      "description": f"{name} organises endurance events across Europe."},
        )  # fmt: skip
        membership_add(organizer=organizer, user=_user(owner_email), role=Membership.Role.OWNER)
        membership_add(organizer=organizer, user=_user(staff_email), role=Membership.Role.STAFF)
        logins += [(owner_email, f"owner of {name}"), (staff_email, f"staff of {name}")]
        for spec in DEMO_EVENTS[slug]:
            index += 1
            made = _event(organizer, spec, index, today)
            if made is not None:
                created += 1
                entries += made
    live = seed_live_demo(Organizer.objects.get(slug="northern-lights-running"))
    return CoreDemo(
        created_events=created,
        logins=logins,
        entries=entries + live.entries,
        live_race=live.race,
        restarted=[live.race] if live.restarted else [],
    )
