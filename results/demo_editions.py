"""The demo's recurring events: earlier editions of two demo events, each linked to the
next by ``previous_edition``, with entries that ``results.demo_timing`` times like any past
race, so the year-on-year statistics and the participation dashboard have years to show;
and a demo athlete whose entries in those editions give "My results" a history.

Each earlier edition is a copy of the current event a year (364 days, the same weekday)
further back, with the same races, courses and categories and a field a little smaller
each year back. Running it again adds nothing: an edition is found by its slug.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef

from events.demo import DEMO_PASSWORD
from events.demo.entries import demo_entries
from events.models import Event, Race, RaceCategory, Registration
from results.models import Result

__all__ = ["DEMO_ATHLETE", "demo_athlete", "demo_editions"]

# Current edition's slug: how many earlier editions it gets.
RECURRING = {"berlin-winter-run": 3, "berlin-spree-marathon": 2}
YEAR = dt.timedelta(days=364)
GROWTH = 0.85  # an edition had this share of the next one's entries
# The demo athlete: her race in each recurring event.
DEMO_ATHLETE = "runner@pace.local"
ATHLETE_NAME = ("Maria", "Keller")
ATHLETE_RACES = {"berlin-winter-run": "10k", "berlin-spree-marathon": "half-marathon"}


def demo_editions() -> list[Registration]:
    """Create the recurring events' missing earlier editions; returns their entries."""
    entries: list[Registration] = []
    for slug, back in RECURRING.items():
        current = Event.objects.filter(slug=slug).first()
        if current is None:
            continue
        newer = current
        for k in range(1, back + 1):
            edition, made = _edition(current, k)
            entries += made
            if newer.previous_edition_id is None:
                newer.previous_edition = edition
                newer.save(update_fields=["previous_edition"])
            newer = edition
    return entries


def _edition(current: Event, k: int) -> tuple[Event, list[Registration]]:
    start = current.start_date - k * YEAR
    slug = f"{current.slug}-{start.year}"
    found = Event.objects.filter(slug=slug).first()
    if found is not None:
        return found, []
    edition = Event.objects.create(
        organizer=current.organizer, name=f"{current.name} {start.year}", slug=slug,
        sport=current.sport, summary=current.summary, description=current.description,
        start_date=start, end_date=current.end_date - k * YEAR, place=current.place,
        region=current.region, country=current.country, latitude=current.latitude,
        longitude=current.longitude, status=Event.Status.PUBLISHED, currency=current.currency,
        timezone=current.timezone, registration_open=False,
    )  # fmt: skip
    entries: list[Registration] = []
    for race in current.races.order_by("start_time", "pk"):
        zone = current.local_tz
        local = race.start_time.astimezone(zone)
        start_time = dt.datetime.combine(local.date() - k * YEAR, local.time(), tzinfo=zone)
        copy = Race.objects.create(
            event=edition, name=race.name, slug=race.slug, distance_m=race.distance_m,
            elevation_gain_m=race.elevation_gain_m, start_time=start_time,
            time_limit=race.time_limit, capacity=race.capacity, entry_fee=race.entry_fee,
            course=race.course, bib_from=race.bib_from, bib_to=race.bib_to,
        )  # fmt: skip
        categories = race.categories.order_by("pk")
        RaceCategory.objects.bulk_create(
            [
                RaceCategory(
                    race=copy,
                    code=c.code,
                    name=c.name,
                    sex=c.sex,
                    min_age=c.min_age,
                    max_age=c.max_age,
                )
                for c in categories
            ]
        )
        count = race.registrations.filter(status=Registration.Status.CONFIRMED).count()
        count = max(20, round(count * GROWTH**k))
        entries += demo_entries(race=copy, count=count, seed=copy.pk * 7 + k)
    return edition, entries


def demo_athlete() -> Any:
    """The demo athlete's account, owning one finisher's entry in each timed edition of
    the recurring events (a finished woman's, renamed to hers)."""
    user_model = get_user_model()
    user = user_model.objects.filter(email=DEMO_ATHLETE).first()
    if user is None:
        user = user_model.objects.create_user(
            username=DEMO_ATHLETE.split("@")[0], email=DEMO_ATHLETE, password=DEMO_PASSWORD,
            first_name=ATHLETE_NAME[0], last_name=ATHLETE_NAME[1],
        )  # fmt: skip
        EmailAddress.objects.create(user=user, email=DEMO_ATHLETE, primary=True, verified=True)
    for slug, race_slug in ATHLETE_RACES.items():
        races = Race.objects.filter(event__slug__startswith=slug, slug=race_slug)
        races = races.exclude(Exists(Registration.objects.filter(race=OuterRef("pk"), user=user)))
        for race in races.filter(event__slug__regex=rf"^{slug}(-\d{{4}})?$"):
            _adopt(race, user)
    return user


def _adopt(race: Race, user: Any) -> None:
    finishers = Result.objects.filter(
        race=race, status=Result.Status.FINISHED, sex="F", registration__user__isnull=True,
        penalty_ms=0,
    ).order_by("rank_overall", "pk")  # fmt: skip
    count = finishers.count()
    if not count:
        return
    result = finishers.select_related("registration")[count // 3]  # ahead of most
    entry = result.registration
    entry.user = user
    entry.first_name, entry.last_name = ATHLETE_NAME
    entry.email = DEMO_ATHLETE
    entry.save(update_fields=["user", "first_name", "last_name", "email"])
