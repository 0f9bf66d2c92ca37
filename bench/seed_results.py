"""Benchmark data for the results pages: past races with timed, official results.

Run after ``bench.seed`` in the same bench database (``bench.http`` does this in a
subprocess): ``python -m bench.seed_results 3 3000``. Each race gets its entries
(names drawn from short lists, so a search finds several), a start mat, 5 splits and
a finish, one chip read per athlete and point, a few DNFs and DNSs; results are
computed by ``results.compute.recompute_race`` and made official by
``results.publishing.results_publish``, as an organizer's import and publication do.
Deterministic (fixed seed). Prints the URLs' ingredients as JSON.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import sys
from typing import Any

from bench.seed import AGES, confirmed_entries_create, race_timing_create

FIRST = [
    "Anna",
    "Ben",
    "Clara",
    "David",
    "Emma",
    "Felix",
    "Greta",
    "Hugo",
    "Ines",
    "Jonas",
    "Lea",
    "Marco",
    "Nina",
    "Oscar",
    "Paula",
]
LAST = [
    "Bauer",
    "Costa",
    "Dubois",
    "Fischer",
    "García",
    "Hansen",
    "Keller",
    "Laurent",
    "Novak",
    "Rossi",
    "Weber",
    "Wagner",
]
CLUBS = ["", "", "", "Harbour Harriers", "Lakeside RC", "Old Town Striders", "Valley AC"]
# (event name, race name, metres, seconds a metre: fastest, slowest)
RACES = [
    ("Bench Results City Marathon", "Marathon", 42_195, 0.17, 0.45),
    ("Bench Results Half", "Half marathon", 21_097, 0.17, 0.42),
    ("Bench Results 10K", "10K", 10_000, 0.16, 0.40),
]
SPLITS = 5
SEARCHES = ["Weber", "anna", "Lakeside", "Nina Rossi", "17"]


def seed_race(organizer: Any, index: int, athletes: int, rng: random.Random) -> dict[str, Any]:
    from django.utils import timezone

    from events.models import Event, Race
    from results.models import TimingRead

    event_name, race_name, metres, fast, slow = RACES[index % len(RACES)]
    day = timezone.localdate() - dt.timedelta(days=14 + 7 * index)
    event = Event.objects.create(
        organizer=organizer, name=event_name, slug=f"bench-results-{index + 1}", sport="running",
        start_date=day, end_date=day, place="Berlin", country="DE", latitude=52.52,
        longitude=13.4, status=Event.Status.PUBLISHED,
    )  # fmt: skip
    gun = dt.datetime.combine(day, dt.time(8), tzinfo=dt.UTC)
    race = Race.objects.create(
        event=event, name=race_name, slug=race_name.lower().replace(" ", "-"), distance_m=metres,
        start_time=gun, time_limit=dt.timedelta(hours=7),
    )  # fmt: skip
    categories, points = race_timing_create(race, splits=SPLITS, ages=AGES)
    entries = confirmed_entries_create(
        race,
        athletes=athletes,
        rng=rng,
        key=f"results-{index}-",
        person=lambda rng, i: (rng.choice(FIRST), rng.choice(LAST), rng.choice(CLUBS)),
        nationalities=("DE", "FR", "NL", "GB", "IT"),
    )
    reads = []
    for entry in entries:
        fate = rng.random()
        if fate < 0.02:
            continue  # did not start: no read at all
        start = gun + dt.timedelta(seconds=rng.uniform(0, 300))
        pace = rng.uniform(fast, slow)
        passed = points if fate > 0.05 else points[: rng.randint(2, len(points) - 1)]  # DNF
        for point in passed:
            t = start + dt.timedelta(seconds=point.distance_m * pace * rng.uniform(0.97, 1.03))
            reads.append(
                TimingRead(
                    race=race,
                    point=point,
                    registration=entry,
                    bib=entry.bib,
                    time=t,
                    source="chip_file",
                )
            )
    TimingRead.objects.bulk_create(reads, batch_size=5000)
    return {"race_id": race.pk, "reads": len(reads), "categories": len(categories)}


def seed(races: int, athletes: int) -> dict[str, Any]:
    import django

    django.setup()
    from django.db import connection, transaction

    from events.models import Organizer
    from results.publishing import results_publish

    rng = random.Random(20261203)
    with transaction.atomic():
        organizer = Organizer.objects.create(
            name="Bench Results Timing", slug="bench-results", country="DE",
            contact_email="results@bench.local",
        )  # fmt: skip
        made = [seed_race(organizer, i, athletes, rng) for i in range(races)]
    for race in made:
        results_publish(race_id=race["race_id"], by=None)  # computes them, then official
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return results_data()


def results_data() -> dict[str, Any]:
    """What the URL mix needs of the timed races (also read back by ``--reuse-db``)."""
    from django.db.models import Count, Q

    from events.models import Race
    from results.models import Result

    races = (
        Race.objects.filter(event__organizer__slug="bench-results")
        .annotate(
            listed=Count("results"),
            finishers=Count("results", filter=Q(results__status=Result.Status.FINISHED)),
        )
        .select_related("event")
        .order_by("pk")
    )
    return {
        "results_races": [
            {
                "event_slug": race.event.slug,
                "race_slug": race.slug,
                "listed": race.listed,
                "finishers": race.finishers,
                "bibs": list(race.results.values_list("registration__bib", flat=True)),
                "categories": list(race.categories.values_list("code", flat=True)),
            }
            for race in races
        ],
        "searches": SEARCHES,
    }


if __name__ == "__main__":
    n_races = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    n_athletes = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
    print(json.dumps(seed(n_races, n_athletes)))
