"""The demo's live race: a 10K starting when the demo is loaded, for ``make run``'s simulator.

Run again, it keeps its athletes; once it has been going for a while it starts
over (a new gun time), so ``make run`` always shows a race. What the apps above
stored of its last run (tracking's fixes) is theirs to forget: ``seed_demo`` tells
them which races started over.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from django.utils import timezone

from events.courses import course_create
from events.demo.entries import demo_categories, demo_entries
from events.models import Event, Organizer, Race, Registration
from events.registration import category_for
from pace.lib.gpxsynth import synth_course_gpx

LIVE_EVENT_SLUG = "pace-live-demo-10k"
LIVE_RACE_SLUG = "10k"
LIVE_ATHLETES = 60
RESTART_AFTER = dt.timedelta(minutes=20)


def annecy_loop_race(
    *, organizer: Organizer, name: str, slug: str, start: dt.datetime, seed: int,
    time_limit: dt.timedelta, **event_fields: object,
) -> Race:  # fmt: skip
    """A published 10K on a loop by the lake in Annecy, starting at ``start``: the demo's
    live race and the load-test races are both one of these."""
    event = Event.objects.create(
        organizer=organizer, name=name, slug=slug, sport="running",
        start_date=start.date(), end_date=start.date(), place="Annecy", region="Haute-Savoie",
        country="FR", latitude=45.8992, longitude=6.1294, timezone="Europe/Paris",
        status=Event.Status.PUBLISHED, registration_open=False, **event_fields,
    )  # fmt: skip
    gpx = synth_course_gpx(
        name=f"{name} loop", lat=45.8992, lon=6.1294, distance_m=10_000, shape="loop",
        climb_m=40, seed=seed,
    )  # fmt: skip
    course = course_create(organizer=organizer, gpx_data=gpx, name=f"{name}: 10K loop")
    return Race.objects.create(
        event=event, name="10K", slug=LIVE_RACE_SLUG, distance_m=10_000, course=course,
        elevation_gain_m=round(course.elevation_gain_m), start_time=start,
        time_limit=time_limit, bib_from=1, bib_to=100_000,
    )  # fmt: skip


def _create(organizer: Organizer, now: dt.datetime) -> Race:
    return annecy_loop_race(
        organizer=organizer, name="Pace Live Demo 10K", slug=LIVE_EVENT_SLUG, start=now,
        seed=99, time_limit=dt.timedelta(hours=2),
        summary="A demo race run by simulated athletes: follow it live.",
        description="Sixty simulated runners on a lakeside loop, tracked live.",
    )  # fmt: skip


def restart_live_race(race: Race, now: dt.datetime) -> None:
    """A new gun time for the live demo race (what tracking stored of it is tracking's)."""
    race.start_time = now
    race.save(update_fields=["start_time"])
    Event.objects.filter(pk=race.event_id).update(start_date=now.date(), end_date=now.date())


class LiveDemo(NamedTuple):
    race: Race
    restarted: bool
    entries: list[Registration]  # added by this run


def live_demo_race() -> Race | None:
    return Race.objects.filter(event__slug=LIVE_EVENT_SLUG, slug=LIVE_RACE_SLUG).first()


def seed_live_demo(organizer: Organizer) -> LiveDemo:
    """The live demo race, created or restarted, with its athletes."""
    now = timezone.now().replace(microsecond=0)
    race = live_demo_race()
    restarted = False
    if race is None:
        race = _create(organizer, now)
    elif race.start_time < now - RESTART_AFTER:
        restart_live_race(race, now)
        restarted = True
    # Age groups, as the other demo races have: the provisional results rank by them
    # (a live race made before it had them gets them, and its entries theirs, now).
    demo_categories(race)
    uncategorised = Registration.objects.filter(race=race, category__isnull=True)
    for entry in uncategorised.only("birth_date", "sex"):
        entry.category = category_for(race=race, birth_date=entry.birth_date, sex=entry.sex)
        entry.save(update_fields=["category"])
    have = Registration.objects.filter(race=race, status=Registration.Status.CONFIRMED).count()
    entries: list[Registration] = []
    if have < LIVE_ATHLETES:
        entries = demo_entries(race=race, count=LIVE_ATHLETES - have, seed=race.pk)
    return LiveDemo(race=race, restarted=restarted, entries=entries)
