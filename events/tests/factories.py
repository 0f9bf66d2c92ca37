"""Builders for tests: small, explicit, and the same in every app's tests.

They live with the tests of ``events``, the app owning the models they build, so
that the tests of every app above it (and pace's own) can import them.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from typing import Any

import gpxpy.gpx
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.utils import timezone

from events.courses import course_create
from events.models import Course, Event, Membership, Organizer, Race
from events.organizers import membership_add
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


# Test courses are generated here, not taken from the demo data, so tests keep
# their courses whatever the demo becomes.
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
        organizer=organizer, name=name, slug=name.lower().replace(" ", "-"), sport=sport,
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
