"""Results' demo of a cycling stage race: three stages with a sprint and a climb each.

The same riders enter every stage (bibs are unique per event, so each stage numbers
its own: stage 2's from 201), in five teams (their club), and two riders abandon
on the last stage, so every classification has something to show and the GC shows
who left. Their reads are stored as a timing file's would be, and the stages' results
computed and published through ``results``' own functions. Running it again adds
nothing.
"""

from __future__ import annotations

import datetime as dt
import random
import secrets

from django.db import transaction
from django.utils import timezone

from events.models import Event, Organizer, Race, Registration, Sport
from results.models import Stage, StagePoint, StageRace, TimingPoint, TimingRead
from results.publishing import results_publish

__all__ = ["STAGE_RACE_SLUG", "demo_seed"]

STAGE_RACE_SLUG = "sierra-stage-race"
ORGANIZER = "velo-events"
FIRST = {
    "F": ["Anna", "Sofia", "Lea", "Marta", "Clara", "Emma", "Ines", "Julia", "Nora", "Eva"],
    "M": ["Lukas", "Mateo", "Jonas", "Pablo", "Luca", "Noah", "Hugo", "Finn", "Marco", "Erik"],
}
LAST = ["Müller", "García", "Rossi", "Martin", "Jansen", "Nielsen", "Novák", "Silva", "Berg"]
TEAMS = ["Equipo Sierra", "Velo Club Norte", "Team Meseta", "Ciclos Tajo", "Rueda Libre"]
RIDERS = 40
ABANDON_ON_LAST_STAGE = (7, 23)  # riders by number

Rider = tuple[str, str, dt.date, str, str]  # first, last, birth date, sex, team


@transaction.atomic
def demo_seed(*, today: dt.date | None = None) -> list[Registration]:
    """Add the demo stage race unless it exists; the (free) entries added, for payments'
    part of the demo to settle."""
    organizer = Organizer.objects.filter(slug=ORGANIZER).first()
    if organizer is None or Event.objects.filter(slug=STAGE_RACE_SLUG).exists():
        return []
    rng = random.Random(2026)
    day = (today or timezone.localdate()) - dt.timedelta(days=40)
    event = Event.objects.create(
        organizer=organizer, name="Sierra Stage Race", slug=STAGE_RACE_SLUG,
        sport=Sport.CYCLING, start_date=day, end_date=day + dt.timedelta(days=2),
        place="Segovia", country="ES", latitude=40.95, longitude=-4.12,
        status=Event.Status.PUBLISHED, registration_open=False, timezone="Europe/Madrid",
        summary="Three days in the Sierra de Guadarrama: GC, points, mountains and teams.",
    )  # fmt: skip
    stage_race = StageRace.objects.create(event=event)
    riders = [_rider(rng) for _ in range(RIDERS)]
    strength = {rider: rng.uniform(0.95, 1.08) for rider in riders}
    entries: list[Registration] = []
    for number in (1, 2, 3):
        race, sprint, climb, finish = _stage(stage_race, number)
        entries += _enter(race, riders, first_bib=100 * number + 1)
        passes: list[tuple[Registration, TimingPoint, float]] = []
        for n, (entry, rider) in enumerate(zip(entries[-RIDERS:], riders, strict=True)):
            hours = 4 * strength[rider] * rng.uniform(0.99, 1.01)
            passes.append((entry, sprint, hours * 1440 * rng.uniform(0.98, 1.02)))
            passes.append((entry, climb, hours * 2640 * rng.uniform(0.97, 1.03)))
            if number < 3 or n not in ABANDON_ON_LAST_STAGE:
                passes.append((entry, finish, hours * 3600))
        _reads(race, passes)
        results_publish(race_id=race.pk, by=None)
    return entries


def _rider(rng: random.Random) -> Rider:
    sex = rng.choice("FM")
    birth = dt.date(rng.randint(1975, 2004), rng.randint(1, 12), rng.randint(1, 28))
    return (rng.choice(FIRST[sex]), rng.choice(LAST), birth, sex, rng.choice(TEAMS))


def _stage(
    stage_race: StageRace, number: int
) -> tuple[Race, TimingPoint, TimingPoint, TimingPoint]:
    """Stage ``number``: its race, timing points, sprint and climb."""
    event = stage_race.event
    day = event.start_date + dt.timedelta(days=number - 1)
    race = Race.objects.create(
        event=event, name=f"Stage {number}", slug=f"stage-{number}", distance_m=150_000,
        start_time=dt.datetime.combine(day, dt.time(11), tzinfo=event.local_tz), entry_fee=0,
    )  # fmt: skip
    stage = Stage.objects.create(stage_race=stage_race, race=race, number=number)
    specs = [("Start", "start", 0), ("Sprint", "split", 60_000), ("Col", "split", 110_000)]
    specs.append(("Finish", "finish", 150_000))
    _, sprint, climb, finish = (
        TimingPoint.objects.create(race=race, name=name, kind=kind, distance_m=metres, order=n)
        for n, (name, kind, metres) in enumerate(specs)
    )
    StagePoint.objects.create(
        stage=stage, timing_point=sprint, kind=StagePoint.Kind.SPRINT, points=[20, 17, 15],
        bonuses_s=[3, 2, 1],
    )  # fmt: skip
    StagePoint.objects.create(
        stage=stage, timing_point=climb, kind=StagePoint.Kind.CLIMB, points=[10, 8, 6, 4]
    )
    return race, sprint, climb, finish


def _enter(race: Race, riders: list[Rider], *, first_bib: int) -> list[Registration]:
    now = timezone.now()
    return Registration.objects.bulk_create(
        Registration(
            race=race,
            event=race.event,
            status=Registration.Status.CONFIRMED,
            email=f"rider.{n}@example.com",
            first_name=first,
            last_name=last,
            birth_date=birth,
            sex=sex,
            nationality="ES",
            club=team,
            emergency_name="Family",
            emergency_phone="+34 91 1234567",
            bib=str(first_bib + n),
            list_price=0,
            price=0,
            currency="EUR",
            payment_method="free",
            waiver_accepted_at=now,
            manage_token=secrets.token_urlsafe(32),
        )
        for n, (first, last, birth, sex, team) in enumerate(riders)
    )


def _reads(race: Race, passes: list[tuple[Registration, TimingPoint, float]]) -> None:
    """A chip read per passing, ``seconds`` after the gun, as a decoder file gives them."""
    TimingRead.objects.bulk_create(
        TimingRead(
            race=race,
            point=point,
            registration=entry,
            bib=entry.bib,
            time=race.start_time + dt.timedelta(seconds=seconds),
            source=TimingRead.Source.CHIP_FILE,
            source_read_id=f"demo-{point.pk}-{entry.pk}",
        )
        for entry, point, seconds in passes
    )
