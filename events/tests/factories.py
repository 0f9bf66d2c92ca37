"""Builders for tests: small, explicit, and the same in every app's tests.

They live with the tests of ``events``, the app owning the models they build, so
that the tests of every app above it (and pace's own) can import them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.text import slugify

from events.courses import course_create
from events.models import Course, Event, Membership, Organizer, Race, RaceCategory
from events.organizers import membership_add
from pace.lib.gpxsynth import synth_course_gpx
from pace.lib.testing import PASSWORD

# What an athlete types into a race's entry form (POST data).
ENTRY_FORM = {
    "email": "runner@example.com",
    "first_name": "Rita",
    "last_name": "Runner",
    "birth_date": "1980-05-02",
    "sex": "F",
    "nationality": "FR",
    "emergency_name": "Paul Runner",
    "emergency_phone": "+33 6 12 34 56 78",
    "waiver": "on",
}


def teammates_form(*mates: tuple[str, str, str]) -> dict[str, str]:
    """The entry form's teammate rows (POST data) for ``(first name, birth date, sex)``
    triples, each with the last name X."""
    form = {"mate-TOTAL_FORMS": str(len(mates)), "mate-INITIAL_FORMS": "0"}
    for n, (first, born, sex) in enumerate(mates):
        form |= {f"mate-{n}-first_name": first, f"mate-{n}-last_name": "X"}
        form |= {f"mate-{n}-birth_date": born, f"mate-{n}-sex": sex}
    return form


def make_user(name: str, *, staff: bool = False, verified: bool = True) -> Any:
    """A user with a primary e-mail address, verified unless asked (as after a sign-up link)."""
    user = get_user_model().objects.create_user(
        username=name, email=f"{name}@example.com", password=PASSWORD, is_staff=staff
    )
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=verified)
    return user


def make_organizer(name: str, *, members: dict[Any, str] | None = None) -> Organizer:
    organizer = Organizer.objects.create(
        name=name, slug=name.lower().replace(" ", "-"), country="FR", contact_email="o@example.com"
    )
    for user, role in (members or {}).items():
        membership_add(organizer=organizer, user=user, role=role)
    return organizer


def make_course(organizer: Organizer, *, distance_m: float = 10_000, seed: int = 1) -> Course:
    gpx = synth_course_gpx(
        name="Test course", lat=45.0, lon=6.0, distance_m=distance_m, shape="loop",
        climb_m=100, seed=seed,
    )  # fmt: skip
    return course_create(organizer=organizer, gpx_data=gpx, name=f"{organizer.name} course")


def make_event(
    organizer: Organizer,
    name: str,
    *,
    sport: str = "running",
    days_ahead: int = 30,
    status: str = Event.Status.PUBLISHED,
    country: str = "FR",
    place: str = "Annecy",
    zone: str = "UTC",
) -> Event:
    start = timezone.localdate() + dt.timedelta(days=days_ahead)
    return Event.objects.create(
        organizer=organizer, name=name, slug=slugify(name), sport=sport,
        start_date=start, end_date=start, place=place, country=country, latitude=45.9,
        longitude=6.1, status=status, timezone=zone,
    )  # fmt: skip


def make_race(
    event: Event, name: str = "10K", *, distance_m: int = 10_000, course: Course | None = None
) -> Race:
    start = dt.datetime.combine(event.start_date, dt.time(9), tzinfo=dt.UTC)
    return Race.objects.create(
        event=event, name=name, slug=name.lower().replace(" ", "-"), distance_m=distance_m,
        start_time=start, entry_fee=25, course=course,
    )  # fmt: skip


ROLES = Membership.Role


def make_age_categories(race: Race) -> None:
    """Women senior (18-39), women 40+ and men senior (18-39): ENTRY_FORM's Rita, born
    in 1980, falls in women 40+."""
    RaceCategory.objects.create(
        race=race, code="F-SEN", name="Women senior", sex="F", min_age=18, max_age=39
    )
    RaceCategory.objects.create(race=race, code="F-M40", name="Women 40+", sex="F", min_age=40)
    RaceCategory.objects.create(
        race=race, code="M-SEN", name="Men senior", sex="M", min_age=18, max_age=39
    )


def make_entry_race(event: Event, *, capacity: int = 2) -> Race:
    """The event's only race made small (``capacity`` places) with make_age_categories'
    categories: what the entry form's tests enter."""
    race = event.races.get()
    race.capacity = capacity
    race.save()
    make_age_categories(race)
    return race
