"""Demo data: organizers, members and events with generated, realistic courses.

Courses are synthesised (no network): a smooth closed loop, out-and-back or
point-to-point line around a real start, with rolling or mountain elevation,
written as GPX and read back through the same ``course_create`` as uploads.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass

import gpxpy.gpx
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from events.courses import course_create
from events.models import Event, Membership, Organizer, Race, RaceCategory, Sport
from events.organizers import membership_add

DEMO_PASSWORD = "pace-demo-2026"
POINT_SPACING_M = 25.0


def synth_course_gpx(
    *, name: str, lat: float, lon: float, distance_m: float, shape: str, climb_m: float, seed: int
) -> str:
    """A GPX track of about ``distance_m`` starting at (lat, lon); shape: loop|out_back|a_to_b."""
    rng = random.Random(seed)
    # At most ~2,000 points: long courses get sparser points, as exported GPX files do.
    n = max(20, min(int(distance_m / POINT_SPACING_M), 2000))
    m_per_deg_lat = 111_320.0
    m_per_deg_lon = m_per_deg_lat * math.cos(math.radians(lat))
    wobble = [(rng.uniform(0.05, 0.18), rng.randint(3, 9), rng.uniform(0, 6.28)) for _ in range(3)]
    heading = rng.uniform(0, 2 * math.pi)
    if shape == "loop":
        # A wobbly circle whose perimeter is the distance, starting and ending at the start.
        radius = distance_m / (2 * math.pi * 1.08)
        offsets = []
        for i in range(n + 1):
            a = 2 * math.pi * i / n
            r = radius * (1 + sum(w * math.sin(k * a + ph) for w, k, ph in wobble) / 2)
            x, y = (
                r * math.cos(a + heading) - radius * math.cos(heading),
                r * math.sin(a + heading) - radius * math.sin(heading),
            )
            offsets.append((x, y))
    else:
        leg = distance_m / 2 if shape == "out_back" else distance_m
        steps = n // 2 if shape == "out_back" else n
        offsets, x, y, h = [(0.0, 0.0)], 0.0, 0.0, heading
        for i in range(steps):
            h = heading + 0.6 * math.sin(i / steps * 2 * math.pi * wobble[0][1] / 3)
            x, y = x + math.cos(h) * leg / steps, y + math.sin(h) * leg / steps
            offsets.append((x, y))
        if shape == "out_back":
            offsets += [(px + 8, py + 8) for px, py in reversed(offsets[:-1])]
    gpx = gpxpy.gpx.GPX()
    gpx.name = name
    track = gpxpy.gpx.GPXTrack(name=name)
    segment = gpxpy.gpx.GPXTrackSegment()
    base = rng.uniform(20, 600) if climb_m < 1500 else rng.uniform(800, 1200)
    total = len(offsets) - 1
    for i, (x, y) in enumerate(offsets):
        f = i / total
        ele = base + climb_m / 4 * (1 - math.cos(2 * math.pi * f * 2)) + 6 * math.sin(f * 60)
        segment.points.append(
            gpxpy.gpx.GPXTrackPoint(
                latitude=round(lat + y / m_per_deg_lat, 6),
                longitude=round(lon + x / m_per_deg_lon, 6),
                elevation=round(ele, 1),
            )
        )
    track.segments.append(segment)
    gpx.tracks.append(track)
    return gpx.to_xml()


@dataclass(frozen=True)
class DemoEvent:
    name: str
    sport: str
    place: str
    region: str
    country: str
    lat: float
    lon: float
    days_ahead: int
    races: tuple[tuple[str, int, int], ...]  # (name, metres, fee in whole currency)
    climb: int = 80
    shape: str = "loop"


_RUN = (("Marathon", 42195, 85), ("Half marathon", 21097, 49), ("10K", 10000, 25))
_TRAIL = (("Ultra 80K", 80000, 120), ("Trail 32K", 32000, 65), ("Trail 12K", 12000, 30))
_BIKE = (("Gran fondo", 160000, 90), ("Medio fondo", 95000, 60))
_TRI = (("Full distance", 226000, 450), ("Half distance", 113000, 260))

DEMO_ORGANIZERS = {
    "northern-lights-running": (
        "Northern Lights Running",
        "DE",
        "alice@pace.local",
        "bob@pace.local",
    ),
    "alpine-trail-co": ("Alpine Trail Co.", "FR", "carol@pace.local", "dan@pace.local"),
    "velo-events": ("Velo Events", "ES", "erin@pace.local", "frank@pace.local"),
}

DEMO_EVENTS = {
    "northern-lights-running": [
        DemoEvent(
            "Berlin Spree Marathon",
            Sport.RUNNING,
            "Berlin",
            "Berlin",
            "DE",
            52.5163,
            13.3777,
            18,
            _RUN,
        ),
        DemoEvent(
            "Hamburg Harbour Half",
            Sport.RUNNING,
            "Hamburg",
            "Hamburg",
            "DE",
            53.5461,
            9.9661,
            32,
            _RUN[1:],
        ),
        DemoEvent(
            "Amsterdam Canal Run",
            Sport.RUNNING,
            "Amsterdam",
            "North Holland",
            "NL",
            52.3600,
            4.8852,
            45,
            _RUN,
        ),
        DemoEvent(
            "Copenhagen Harbour 10K",
            Sport.RUNNING,
            "Copenhagen",
            "Capital Region",
            "DK",
            55.6761,
            12.5683,
            60,
            _RUN[2:],
        ),
        DemoEvent(
            "Vienna Ringstrasse Run",
            Sport.RUNNING,
            "Vienna",
            "Vienna",
            "AT",
            48.2082,
            16.3738,
            74,
            _RUN,
        ),
        DemoEvent(
            "Prague Old Town Half",
            Sport.RUNNING,
            "Prague",
            "Prague",
            "CZ",
            50.0875,
            14.4213,
            88,
            _RUN[1:],
        ),
        DemoEvent(
            "Dublin Liffey Marathon",
            Sport.RUNNING,
            "Dublin",
            "Leinster",
            "IE",
            53.3498,
            -6.2603,
            102,
            _RUN,
        ),
        DemoEvent(
            "London Thames Path 10K",
            Sport.RUNNING,
            "London",
            "Greater London",
            "GB",
            51.5072,
            -0.1276,
            116,
            _RUN[2:],
        ),
        DemoEvent(
            "Stockholm Island Run",
            Sport.RUNNING,
            "Stockholm",
            "Stockholm",
            "SE",
            59.3293,
            18.0686,
            130,
            _RUN[1:],
        ),
        DemoEvent(
            "Roth Challenge Triathlon",
            Sport.TRIATHLON,
            "Roth",
            "Bavaria",
            "DE",
            49.2460,
            11.0911,
            150,
            _TRI,
            400,
            "a_to_b",
        ),
        DemoEvent(
            "Kalmar Island Triathlon",
            Sport.TRIATHLON,
            "Kalmar",
            "Kalmar County",
            "SE",
            56.6634,
            16.3568,
            165,
            _TRI,
            200,
            "out_back",
        ),
        DemoEvent(
            "Berlin Winter Run",
            Sport.RUNNING,
            "Berlin",
            "Berlin",
            "DE",
            52.5200,
            13.4050,
            -40,
            _RUN[2:],
        ),
    ],
    "alpine-trail-co": [
        DemoEvent(
            "Chamonix Skyline Trail",
            Sport.TRAIL,
            "Chamonix",
            "Haute-Savoie",
            "FR",
            45.9237,
            6.8694,
            25,
            _TRAIL,
            4200,
        ),
        DemoEvent(
            "Zermatt Glacier Trail",
            Sport.TRAIL,
            "Zermatt",
            "Valais",
            "CH",
            46.0207,
            7.7491,
            39,
            _TRAIL[1:],
            2600,
        ),
        DemoEvent(
            "Madeira Levada Ultra",
            Sport.TRAIL,
            "Funchal",
            "Madeira",
            "PT",
            32.6669,
            -16.9241,
            53,
            _TRAIL,
            3800,
            "a_to_b",
        ),
        DemoEvent(
            "Dolomites Sky Race",
            Sport.TRAIL,
            "Cortina d'Ampezzo",
            "Veneto",
            "IT",
            46.5405,
            12.1357,
            67,
            _TRAIL[1:],
            2400,
        ),
        DemoEvent(
            "Lake District Fell Race",
            Sport.TRAIL,
            "Keswick",
            "Cumbria",
            "GB",
            54.6013,
            -3.1347,
            81,
            _TRAIL[1:],
            1600,
        ),
        DemoEvent(
            "Tatra Ridge Trail",
            Sport.TRAIL,
            "Zakopane",
            "Lesser Poland",
            "PL",
            49.2992,
            19.9496,
            95,
            _TRAIL,
            3100,
        ),
        DemoEvent(
            "Innsbruck Alpine Trail",
            Sport.TRAIL,
            "Innsbruck",
            "Tyrol",
            "AT",
            47.2692,
            11.4041,
            109,
            _TRAIL,
            3500,
        ),
        DemoEvent(
            "Snowdon Horseshoe Trail",
            Sport.TRAIL,
            "Llanberis",
            "Gwynedd",
            "GB",
            53.1175,
            -4.1292,
            123,
            _TRAIL[2:],
            1100,
            "out_back",
        ),
        DemoEvent(
            "Annecy Lakeside Trail",
            Sport.TRAIL,
            "Annecy",
            "Haute-Savoie",
            "FR",
            45.8992,
            6.1294,
            137,
            _TRAIL[1:],
            1900,
        ),
        DemoEvent(
            "Verbier Night Trail",
            Sport.TRAIL,
            "Verbier",
            "Valais",
            "CH",
            46.0964,
            7.2286,
            151,
            _TRAIL[2:],
            900,
        ),
        DemoEvent(
            "Nice Riviera Half",
            Sport.RUNNING,
            "Nice",
            "Provence-Alpes-Côte d'Azur",
            "FR",
            43.6950,
            7.2653,
            58,
            _RUN[1:],
            60,
            "out_back",
        ),
    ],
    "velo-events": [
        DemoEvent(
            "Girona Gran Fondo",
            Sport.CYCLING,
            "Girona",
            "Catalonia",
            "ES",
            41.9794,
            2.8214,
            22,
            _BIKE,
            2200,
        ),
        DemoEvent(
            "Tour of Flanders Sportive",
            Sport.CYCLING,
            "Oudenaarde",
            "East Flanders",
            "BE",
            50.8453,
            3.6044,
            36,
            _BIKE,
            1800,
        ),
        DemoEvent(
            "Mallorca 312",
            Sport.CYCLING,
            "Palma",
            "Balearic Islands",
            "ES",
            39.5696,
            2.6502,
            50,
            _BIKE,
            3000,
        ),
        DemoEvent(
            "Alpe d'Huez Challenge",
            Sport.CYCLING,
            "Bourg-d'Oisans",
            "Isère",
            "FR",
            45.0556,
            6.0306,
            64,
            _BIKE[1:],
            3200,
            "out_back",
        ),
        DemoEvent(
            "Maastricht Limburg Classic",
            Sport.CYCLING,
            "Maastricht",
            "Limburg",
            "NL",
            50.8514,
            5.6910,
            78,
            _BIKE,
            1500,
        ),
        DemoEvent(
            "Lake Como Gran Fondo",
            Sport.CYCLING,
            "Como",
            "Lombardy",
            "IT",
            45.8081,
            9.0852,
            92,
            _BIKE,
            2600,
        ),
        DemoEvent(
            "Mont Ventoux Sportive",
            Sport.CYCLING,
            "Bédoin",
            "Vaucluse",
            "FR",
            44.1245,
            5.1803,
            106,
            _BIKE[1:],
            2800,
            "out_back",
        ),
        DemoEvent(
            "Valencia Marathon",
            Sport.RUNNING,
            "Valencia",
            "Valencian Community",
            "ES",
            39.4699,
            -0.3763,
            11,
            _RUN,
            40,
        ),
        DemoEvent(
            "Lisbon Tagus Half",
            Sport.RUNNING,
            "Lisbon",
            "Lisbon",
            "PT",
            38.7223,
            -9.1393,
            70,
            _RUN[1:],
            70,
            "out_back",
        ),
        DemoEvent(
            "Seville Flat Marathon",
            Sport.RUNNING,
            "Seville",
            "Andalusia",
            "ES",
            37.3891,
            -5.9845,
            84,
            _RUN,
            20,
        ),
        DemoEvent(
            "Nice Ironman 70.3",
            Sport.TRIATHLON,
            "Nice",
            "Provence-Alpes-Côte d'Azur",
            "FR",
            43.7102,
            7.2620,
            142,
            _TRI[1:],
            1200,
            "out_back",
        ),
    ],
}

SUMMARIES = {
    Sport.RUNNING: "A fast, flat city course past the landmarks, with music every kilometre.",
    Sport.TRAIL: "Single track, ridges and big views; mandatory kit for the long distances.",
    Sport.CYCLING: "Closed roads at the start, feed stations every 40 km and a timed climb.",
    Sport.TRIATHLON: "Lake swim, rolling bike course and a lively run through town.",
}


def _user(email: str, *, staff: bool = False) -> object:
    user_model = get_user_model()
    user = user_model.objects.filter(email=email).first()
    if user is None:
        user = user_model.objects.create_user(
            username=email.split("@")[0], email=email, password=DEMO_PASSWORD
        )
    if staff and not user.is_superuser:
        user.is_staff = user.is_superuser = True
        user.save(update_fields=["is_staff", "is_superuser"])
    return user


def _categories(race: Race) -> None:
    groups = [
        ("SEN", "Senior", 18, 39),
        ("M40", "Master 40", 40, 49),
        ("M50", "Master 50+", 50, None),
    ]
    for sex, label in (("F", "Women"), ("M", "Men")):
        for code, name, lo, hi in groups:
            RaceCategory.objects.get_or_create(
                race=race,
                code=f"{sex}-{code}",
                defaults={"name": f"{label} {name}", "sex": sex, "min_age": lo, "max_age": hi},
            )


def _event(organizer: Organizer, spec: DemoEvent, index: int, today: dt.date) -> bool:
    slug = slugify(spec.name)
    if Event.objects.filter(slug=slug).exists():
        return False
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
        currency="GBP" if spec.country == "GB" else "EUR",
    )  # fmt: skip
    for k, (name, metres, fee) in enumerate(spec.races):
        climb = round(spec.climb * metres / spec.races[0][1])
        gpx = synth_course_gpx(
            name=f"{spec.name} {name}", lat=spec.lat, lon=spec.lon, distance_m=metres,
            shape=spec.shape, climb_m=climb, seed=index * 10 + k,
        )  # fmt: skip
        course = course_create(organizer=organizer, gpx_data=gpx, name=f"{spec.name}: {name}")
        start_time = dt.datetime.combine(start, dt.time(7 + k, 30), tzinfo=dt.UTC)
        race = Race.objects.create(
            event=event, name=name, slug=slugify(name), distance_m=metres,
            elevation_gain_m=round(course.elevation_gain_m), start_time=start_time,
            time_limit=dt.timedelta(hours=max(2, round(metres / 6000))),
            capacity=[3000, 1500, 800][k % 3], entry_fee=fee, course=course,
        )  # fmt: skip
        _categories(race)
    return True


@transaction.atomic
def seed_demo() -> dict[str, object]:
    """Create the demo organizers, members and events; running it again adds nothing."""
    today = timezone.localdate()
    staff = _user("admin@pace.local", staff=True)
    created, logins = 0, [("admin@pace.local", "platform staff")]
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
            created += _event(organizer, spec, index, today)
    return {"created_events": created, "logins": logins, "password": DEMO_PASSWORD, "staff": staff}
