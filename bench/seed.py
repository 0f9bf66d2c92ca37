"""Benchmark data: organizers, a handful of real courses and N published events.

Run inside a Django process configured for the benchmark database (``bench.http``
does this in a subprocess): ``python -m bench.seed 1000``. Deterministic (fixed
random seed); dates are relative to today so every event is upcoming.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import sys
from typing import Any

# (place, region, country, lat, lon)
PLACES = [
    ("Berlin", "Berlin", "DE", 52.52, 13.40),
    ("Munich", "Bavaria", "DE", 48.14, 11.58),
    ("Hamburg", "Hamburg", "DE", 53.55, 9.99),
    ("Paris", "Île-de-France", "FR", 48.86, 2.35),
    ("Annecy", "Haute-Savoie", "FR", 45.90, 6.13),
    ("Lyon", "Auvergne-Rhône-Alpes", "FR", 45.76, 4.84),
    ("Madrid", "Community of Madrid", "ES", 40.42, -3.70),
    ("Girona", "Catalonia", "ES", 41.98, 2.82),
    ("Valencia", "Valencian Community", "ES", 39.47, -0.38),
    ("Milan", "Lombardy", "IT", 45.46, 9.19),
    ("Cortina d'Ampezzo", "Veneto", "IT", 46.54, 12.14),
    ("Amsterdam", "North Holland", "NL", 52.37, 4.90),
    ("Brussels", "Brussels", "BE", 50.85, 4.35),
    ("Vienna", "Vienna", "AT", 48.21, 16.37),
    ("Innsbruck", "Tyrol", "AT", 47.27, 11.40),
    ("Zermatt", "Valais", "CH", 46.02, 7.75),
    ("London", "Greater London", "GB", 51.51, -0.13),
    ("Keswick", "Cumbria", "GB", 54.60, -3.13),
    ("Dublin", "Leinster", "IE", 53.35, -6.26),
    ("Copenhagen", "Capital Region", "DK", 55.68, 12.57),
    ("Stockholm", "Stockholm", "SE", 59.33, 18.07),
    ("Oslo", "Oslo", "NO", 59.91, 10.75),
    ("Prague", "Prague", "CZ", 50.09, 14.42),
    ("Zakopane", "Lesser Poland", "PL", 49.30, 19.95),
    ("Lisbon", "Lisbon", "PT", 38.72, -9.14),
]

# sport -> [(race name, metres, fee)], longest first; events take 2 or 3 of them.
RACES = {
    "running": [("Marathon", 42195, 85), ("Half marathon", 21097, 49), ("10K", 10000, 25)],
    "trail": [("Ultra 80K", 80000, 120), ("Trail 32K", 32000, 65), ("Trail 12K", 12000, 30)],
    "cycling": [("Gran fondo", 160000, 90), ("Medio fondo", 95000, 60), ("Piccolo", 50000, 35)],
    "triathlon": [
        ("Full distance", 226000, 450),
        ("Half distance", 113000, 260),
        ("Olympic", 51500, 120),
    ],
}
SPORT_WEIGHTS = {"running": 45, "trail": 25, "cycling": 20, "triathlon": 10}
WORDS = [
    "Spring",
    "Summer",
    "Autumn",
    "Winter",
    "Night",
    "Sunrise",
    "Harbour",
    "River",
    "Hills",
    "Lakes",
    "Forest",
    "Castle",
    "Old Town",
    "Bridges",
    "Coast",
    "Valley",
]
SPORT_WORD = {"running": "Run", "trail": "Trail", "cycling": "Gran Fondo", "triathlon": "Triathlon"}
# Age bands of the timed races' categories, per sex: (lowest, highest) age.
AGES = ((18, 34), (35, 44), (45, 54), (55, None))
CATEGORIES = [
    ("SEN", "Senior", 18, 39),
    ("M40", "Master 40", 40, 49),
    ("M50", "Master 50+", 50, None),
]


def seed(n_events: int) -> dict[str, Any]:
    import django

    django.setup()
    from django.db import connection, transaction
    from django.utils import timezone
    from django.utils.text import slugify

    from events.courses import course_create
    from events.models import Course, Event, Organizer, Race, RaceCategory
    from pace.lib.gpxsynth import synth_course_gpx

    rng = random.Random(20260101)
    today = timezone.localdate()
    with transaction.atomic():
        organizers = Organizer.objects.bulk_create(
            Organizer(
                name=f"Bench Organizer {i:02d}",
                slug=f"bench-organizer-{i:02d}",
                country=PLACES[i % len(PLACES)][2],
                contact_email=f"org{i}@bench.local",
                description="Organizer created by the HTTP benchmark.",
            )
            for i in range(25)
        )
        # One real course per (sport, distance): parsed from GPX like an upload, with split points.
        courses: dict[tuple[str, int], Course] = {}
        for k, (sport, sport_races) in enumerate(RACES.items()):
            origin = PLACES[k * 3]
            for j, (name, metres, _fee) in enumerate(sport_races):
                gpx = synth_course_gpx(
                    name=f"{sport} {name}",
                    lat=origin[3],
                    lon=origin[4],
                    distance_m=metres,
                    shape=["loop", "out_back", "a_to_b"][j],
                    climb_m=300 + 400 * j,
                    seed=k * 10 + j,
                )
                courses[(sport, metres)] = course_create(
                    organizer=organizers[k], gpx_data=gpx, name=f"Bench {sport} {name}"
                )
        sports = list(SPORT_WEIGHTS)
        weights = list(SPORT_WEIGHTS.values())
        events = []
        for i in range(n_events):
            sport = rng.choices(sports, weights)[0]
            place, region, country, lat, lon = rng.choice(PLACES)
            start = today + dt.timedelta(days=rng.randint(1, 365))
            long_event = sport == "triathlon" or rng.random() < 0.1
            name = f"{place} {rng.choice(WORDS)} {SPORT_WORD[sport]} {i + 1}"
            events.append(
                Event(
                    organizer=organizers[i % len(organizers)],
                    name=name,
                    slug=f"bench-{i + 1:04d}-{slugify(place)}",
                    sport=sport,
                    summary=f"{name}: closed roads, timing chips, medals for all.",
                    description=f"{name} in {place}.\n\nStart and finish in the centre.",
                    start_date=start,
                    end_date=start + dt.timedelta(days=1 if long_event else 0),
                    place=place,
                    region=region,
                    country=country,
                    latitude=lat + rng.uniform(-0.1, 0.1),
                    longitude=lon + rng.uniform(-0.1, 0.1),
                    status=Event.Status.PUBLISHED,
                    currency="GBP" if country == "GB" else "EUR",
                )
            )
        events = Event.objects.bulk_create(events, batch_size=500)
        races = []
        for event in events:
            options = RACES[event.sport]
            picked = options if rng.random() < 0.5 else rng.sample(options, 2)
            for k, (name, metres, fee) in enumerate(picked):
                course = courses[(event.sport, metres)]
                races.append(
                    Race(
                        event=event,
                        name=name,
                        slug=name.lower().replace(" ", "-"),
                        distance_m=metres,
                        elevation_gain_m=round(course.elevation_gain_m),
                        start_time=dt.datetime.combine(
                            event.start_date, dt.time(7 + k, 30), tzinfo=dt.UTC
                        ),
                        time_limit=dt.timedelta(hours=max(2, round(metres / 6000))),
                        capacity=[3000, 1500, 800][k % 3],
                        entry_fee=fee,
                        course=course,
                    )
                )
        races = Race.objects.bulk_create(races, batch_size=1000)
        categories = [
            RaceCategory(
                race=race,
                code=f"{sex}-{code}",
                name=f"{label} {cname}",
                sex=sex,
                min_age=lo,
                max_age=hi,
            )
            for race in races
            for sex, label in (("F", "Women"), ("M", "Men"))
            for code, cname, lo, hi in CATEGORIES
        ]
        RaceCategory.objects.bulk_create(categories, batch_size=2000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {
        "events": len(events),
        "races": len(races),
        "categories": len(categories),
        "courses": {f"{s}:{m}": c.pk for (s, m), c in courses.items()},
        "course_points": {str(c.pk): len(c.line) for c in courses.values()},
        "slugs": [e.slug for e in events],
        "sports": sorted({e.sport for e in events}),
        "countries": sorted({str(e.country) for e in events}),
    }


if __name__ == "__main__":
    print(json.dumps(seed(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)))


def race_timing_create(
    race: Any, *, splits: int, ages: Any, min_gap_ms: int | None = None
) -> tuple[list[Any], list[Any]]:
    """A timed race's age categories (per sex, each ``(lowest, highest)`` of ``ages``) and
    its timing points: start, ``splits`` evenly spaced splits, finish."""
    from events.models import RaceCategory
    from results.models import TimingPoint

    categories = RaceCategory.objects.bulk_create(
        RaceCategory(race=race, code=f"{s}{lo}", name=f"{s} {lo}+", sex=s, min_age=lo, max_age=hi)
        for s in "FM"
        for lo, hi in ages
    )
    metres = race.distance_m
    step = metres / (splits + 1)
    specs = [("Start", "start", 0.0)]
    specs += [(f"{k * step / 1000:.1f} km", "split", k * step) for k in range(1, splits + 1)]
    specs.append(("Finish", "finish", float(metres)))
    gap = {} if min_gap_ms is None else {"min_gap_ms": min_gap_ms}
    points = TimingPoint.objects.bulk_create(
        TimingPoint(race=race, name=n, kind=k, distance_m=d, order=i, **gap)
        for i, (n, k, d) in enumerate(specs)
    )
    return categories, points


def confirmed_entries_create(
    race: Any,
    *,
    athletes: int,
    rng: random.Random,
    key: str,
    person: Any = None,
    nationalities: tuple[str, ...] = ("FR",),
) -> list[Any]:
    """``athletes`` confirmed, free entries of ``race``, bibs 1 to N, born 1950 to 2005.
    ``person(rng, i)`` gives (first name, last name, club); e-mail and manage token are
    made of ``key`` and the athlete's index."""
    from django.utils import timezone

    from events.models import Registration

    now = timezone.now()
    entries = []
    for i in range(athletes):
        first, last, club = person(rng, i) if person else ("Runner", str(i), "")
        born = dt.date(rng.randint(1950, 2005), rng.randint(1, 12), rng.randint(1, 28))
        sex = rng.choice("FM")
        nationality = rng.choice(nationalities) if len(nationalities) > 1 else nationalities[0]
        entries.append(
            Registration(
                race=race,
                event=race.event,
                status=Registration.Status.CONFIRMED,
                email=f"{key}{i}@bench.local",
                first_name=first,
                last_name=last,
                club=club,
                birth_date=born,
                sex=sex,
                nationality=nationality,
                emergency_name="-",
                emergency_phone="-",
                bib=str(i + 1),
                price=0,
                currency="EUR",
                waiver_accepted_at=now,
                manage_token=f"bench-{key}{i}",
            )
        )
    return Registration.objects.bulk_create(entries, batch_size=2000)
