"""Which athletes a simulation plays: the only part of the simulator that reads the database.

Registrations without a tracker get one, with a device id Pace issues, so that a
share of them can play OsmAnd; the rest of the simulator speaks HTTP and WebSocket
only, as outside clients do.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SimAthlete:
    id: int
    bib: str
    name: str
    token: str
    device_id: str | None


@dataclass(frozen=True, slots=True)
class SimRace:
    id: int
    name: str
    sport: str
    start: float
    course_url: str | None
    distance: float | None


def sim_trackers_ensure(*, race_id: int, athletes: int) -> tuple[SimRace, list[SimAthlete], int]:
    """The race, up to ``athletes`` of its confirmed athletes with trackers, and how many exist.

    Registrations without a tracker get one, with a device id Pace issues (random, as
    every tracker's), so that a share of them can play OsmAnd.
    """
    from events.models import Race, Registration
    from tracking.models import Tracker
    from tracking.selectors import race_info

    race = Race.objects.select_related("event", "course").get(pk=race_id)
    confirmed = Registration.objects.filter(race=race, status=Registration.Status.CONFIRMED)
    available = confirmed.count()
    chosen = list(confirmed.order_by("pk")[:athletes])
    missing = [r for r in chosen if not Tracker.objects.filter(registration=r).exists()]
    Tracker.objects.bulk_create([Tracker(registration=r) for r in missing])
    trackers = Tracker.objects.filter(
        registration__in=chosen, revoked_at__isnull=True
    ).select_related("registration")
    info = race_info(race)
    sim_race = SimRace(
        id=race.pk, name=info["name"], sport=race.event.sport, start=info["start"],
        course_url=info["course_url"], distance=info["distance"],
    )  # fmt: skip
    out = [
        SimAthlete(
            id=t.registration_id,
            bib=t.registration.bib,
            name=t.registration.name,
            token=t.token,
            device_id=t.device_id,
        )
        for t in sorted(trackers, key=lambda t: t.registration_id)
    ]
    return sim_race, out, available
