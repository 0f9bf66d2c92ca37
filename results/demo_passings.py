"""A past demo race's field, run again on paper: who passed which timing mat, and when,
written as the RACE RESULT passings files a decoder at each mat would have exported.

The times are made to look like a real field's, so the demo's results pages, statistics
and series have something believable to show: speed by sport, sex and age with a wide
spread between athletes; a start mat crossed later the further back one lines up;
splits with a slight positive split for most; a few who never start (no read at all) or
stop on the way (no finish read); two pairs level to the millisecond; athletes standing
on the finish mat (a second read seconds later, the duplicate the import filters); one
unknown chip. Which finisher is disqualified, and why, comes with the field.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from events.models import Registration, Sport
from results.models import TimingPoint

Kind = TimingPoint.Kind

# Median speed of a 35-year-old man, metres a second over the flat-equivalent distance.
MEDIAN_SPEED: dict[str, float] = {
    Sport.RUNNING: 3.2,
    Sport.TRAIL: 2.6,
    Sport.CYCLING: 7.8,
    Sport.TRIATHLON: 4.3,
}
CLIMB_WEIGHT = 8.0  # a metre climbed costs as much as this many metres on the flat
SPREAD = 0.18  # log-normal spread of speeds between athletes
DNS_SHARE, DNF_SHARE, STAND_SHARE = 0.04, 0.03, 0.05
DSQ_REASON = "Cut the course between the 5 km mat and the finish (marshal's report)."
UNKNOWN_CHIP = "ZK7Q3R1"  # a hired chip nobody returned the form for: read, matched to no one


@dataclass(frozen=True)
class Passing:
    chip: str
    at: dt.datetime


@dataclass
class Field:
    """Every passing, per timing point id, and the bib to disqualify (with its reason)."""

    passings: dict[int, list[Passing]] = field(default_factory=dict)
    dsq_bib: str = ""
    dsq_reason: str = DSQ_REASON
    tied_bibs: list[tuple[str, str]] = field(default_factory=list)


def _age(entry: Registration, day: dt.date) -> int:
    birth = entry.birth_date or dt.date(day.year - 35, 1, 1)
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _speed(entry: Registration, *, sport: str, day: dt.date, rng: random.Random) -> float:
    """A believable speed: slower for women (about 11 %) and past 35 (0.6 % a year)."""
    speed = MEDIAN_SPEED.get(sport, MEDIAN_SPEED[Sport.RUNNING])
    speed *= 0.89 if entry.sex == "F" else 1.0
    speed *= 1 - 0.006 * max(0, _age(entry, day) - 35)
    return float(speed * math.exp(rng.gauss(0, SPREAD)))


def _split_fraction(fraction: float, drift: float) -> float:
    """The share of the finish time spent at ``fraction`` of the course: with a positive
    split (``drift`` > 0) the first part goes a little faster than the rest."""
    return fraction * (1 - drift * (1 - fraction))


def race_field(
    *,
    entries: Sequence[Registration],
    points: Sequence[TimingPoint],
    sport: str,
    gun: dt.datetime,
    climb_m: float,
    seed: int,
) -> Field:
    """The passings of a past race's field at its timing points (deterministic by ``seed``)."""
    rng = random.Random(seed)
    day = gun.date()
    course = max(p.distance_m for p in points) or 1.0
    flat = course + CLIMB_WEIGHT * climb_m
    made = Field(passings={p.pk: [] for p in points})
    speeds = {e.bib: _speed(e, sport=sport, day=day, rng=rng) for e in entries}
    # The fastest line up at the front: the start mat is crossed later further back.
    order = sorted(speeds, key=speeds.__getitem__, reverse=True)
    queue = {bib: i / max(1, len(order)) for i, bib in enumerate(order)}
    finish_ms: dict[str, int] = {}
    starts: dict[str, dt.datetime] = {}
    for entry in entries:
        roll = rng.random()
        if roll < DNS_SHARE:
            continue  # never started: no read anywhere
        stops_at = rng.uniform(0.2, 0.9) * course if roll < DNS_SHARE + DNF_SHARE else None
        crossed = gun + dt.timedelta(seconds=queue[entry.bib] * min(240, 20 + len(order) * 0.5))
        crossed += dt.timedelta(milliseconds=rng.randint(0, 3000))
        starts[entry.bib] = crossed
        total_ms = round(flat / speeds[entry.bib] * 1000)
        drift = rng.uniform(-0.02, 0.07)
        for point in points:
            if stops_at is not None and point.distance_m > stops_at:
                break
            if point.kind == Kind.FINISH:
                finish_ms[entry.bib] = total_ms
                continue  # written below, once ties are made
            share = _split_fraction(point.distance_m / course, drift)
            at = crossed + dt.timedelta(milliseconds=round(total_ms * share))
            made.passings[point.pk].append(Passing(chip=entry.bib, at=at))
    _finish(made, points, finish_ms, starts=starts, rng=rng)
    return made


def _finish(
    made: Field,
    points: Sequence[TimingPoint],
    finish_ms: dict[str, int],
    *,
    starts: dict[str, dt.datetime],
    rng: random.Random,
) -> None:
    """The finish mat's passings: two pairs level to the millisecond on chip time, a few
    athletes standing on the mat, one unknown chip; and a finisher to disqualify."""
    finish = next((p for p in points if p.kind == Kind.FINISH), None)
    if finish is None or not finish_ms:
        return
    by_time = sorted(finish_ms, key=finish_ms.__getitem__)
    if len(by_time) >= 8:
        for i in (len(by_time) // 4, len(by_time) // 2):
            a, b = by_time[i], by_time[i + 1]
            finish_ms[b] = finish_ms[a]
            made.tied_bibs.append((a, b))
    passings = made.passings[finish.pk]
    last = starts[by_time[0]]
    for bib in finish_ms:
        at = starts[bib] + dt.timedelta(milliseconds=finish_ms[bib])
        passings.append(Passing(chip=bib, at=at))
        if rng.random() < STAND_SHARE:
            passings.append(Passing(chip=bib, at=at + dt.timedelta(seconds=rng.uniform(1, 4))))
        last = max(last, at)
    passings.append(Passing(chip=UNKNOWN_CHIP, at=last - dt.timedelta(minutes=3)))
    made.dsq_bib = by_time[min(len(by_time) - 1, 1)]  # second over the line, then out


def raceresult_file(
    passings: Sequence[Passing], *, box_name: str, box_id: str, zone: ZoneInfo
) -> bytes:
    """The passings as a RACE RESULT decoder exports them (``results.readfiles.raceresult``):
    in time order, numbered from 1, with the venue's date and time of day (GPS-synced)."""
    lines = []
    for number, passing in enumerate(sorted(passings, key=lambda p: p.at), start=1):
        local = passing.at.astimezone(zone)
        hits, rssi = 8 + number % 17, 60 + number % 70
        clock = f"{local:%H:%M:%S}.{local.microsecond // 1000:03d}"
        lines.append(
            f"{number};{passing.chip};{local:%Y-%m-%d};{clock};"
            f"0;{hits};{rssi};;0;1;1;0;0;0;0;0;{box_name};1;1;{box_id}"
        )
    return ("\r\n".join(lines) + "\r\n").encode()
