"""Results' timing part of the demo: the demo's past races timed and official, a series
over an organizer's 10Ks, and the live demo race starting each run with no results (the
stage race is ``results.demo_stages``').

The recurring events get their earlier editions first (``results.demo_editions``), timed
like the rest, and the demo athlete her entries in them.

A past race is timed the way an organizer times one: a RACE RESULT passings file per
timing point (``results.demo_passings`` writes what a decoder there would have), each
imported through the admin's own two steps (``import_stage``, then ``import_confirm``),
so the demo exercises the import path. Then the organizer disqualifies one finisher,
publishes the results as official, and adds a time penalty afterwards, which is
audited and makes the page say "updated". ``python manage.py seed_demo`` calls
``demo_seed`` after tracking's part, in the same transaction; a race with reads or
results already is left alone, so running it again adds nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Exists, OuterRef
from django.utils import timezone

from events.demo.catalog import DEMO_ORGANIZERS
from events.demo.live import LIVE_EVENT_SLUG
from events.models import Membership, Organizer, Race, Registration
from results.demo_editions import demo_athlete, demo_editions
from results.demo_passings import race_field, raceresult_file
from results.models import (
    Result,
    ResultChange,
    ResultsPublication,
    Series,
    SeriesRace,
    TimingPoint,
    TimingRead,
)
from results.points import ensure_timing_points
from results.publishing import result_set_adjustment, result_set_status, results_publish
from results.reads_import import import_confirm, import_stage
from results.series.recompute import series_recompute

__all__ = ["TimingDemo", "demo_seed"]

MAX_ENTRIES = 3000  # timed in all, so that ``make demo`` stays quick
PENALTY_MS = 60_000
PENALTY_REASON = "Took a bottle outside the feed zone (referee's report after the race)."
SERIES_SLUG = "northern-lights-10k-cup"
SERIES_ORGANIZER = "northern-lights-running"
SERIES_DISTANCE_M = 10_000


@dataclass(frozen=True)
class TimingDemo:
    """What one run of results' timing demo did."""

    timed: list[Race]  # races timed and published by this run
    forgotten: int  # races starting over whose results went
    series: Series | None
    entries: list[Registration] = field(default_factory=list)  # added (earlier editions)


def demo_seed(*, restarted: Sequence[Race], now: dt.datetime | None = None) -> TimingDemo:
    """Time and publish the demo's past races, keep the demo series' standings, and
    forget the results of the races starting over."""
    now = now or timezone.now()
    results_forget_races(races=restarted)
    entries_added = demo_editions()
    timed: list[Race] = []
    budget = MAX_ENTRIES
    for race in past_demo_races(now=now):
        entries = _entries(race)
        if not entries or len(entries) > budget:
            continue
        budget -= len(entries)
        race_time(race=race, entries=entries, by=_owner(race.event.organizer))
        timed.append(race)
    series = demo_series()
    demo_athlete()
    return TimingDemo(timed=timed, forgotten=len(restarted), series=series, entries=entries_added)


def results_forget_races(*, races: Sequence[Race]) -> None:
    """A race starting over starts with no reads and no results (its GPS reads, one per
    athlete and point, would otherwise refuse the new run's crossings as already seen)."""
    ids = [race.pk for race in races]
    if not ids:
        return
    ResultChange.objects.filter(race_id__in=ids).delete()
    Result.objects.filter(race_id__in=ids).delete()
    TimingRead.objects.filter(race_id__in=ids).delete()
    ResultsPublication.objects.filter(race_id__in=ids).update(
        state=ResultsPublication.State.PROVISIONAL, published_at=None, changed_at=None
    )


def past_demo_races(*, now: dt.datetime) -> list[Race]:
    """The demo organizers' races that are over and have no reads or results yet."""
    races = (
        Race.objects.filter(event__organizer__slug__in=DEMO_ORGANIZERS, start_time__lt=now)
        .exclude(event__slug=LIVE_EVENT_SLUG)
        .exclude(Exists(TimingRead.objects.filter(race=OuterRef("pk"))))
        .exclude(Exists(Result.objects.filter(race=OuterRef("pk"))))
        .select_related("event", "event__organizer", "course")
        .order_by("start_time", "pk")
    )
    return [r for r in races if r.start_time + (r.time_limit or dt.timedelta(hours=6)) < now]


def _entries(race: Race) -> list[Registration]:
    return list(
        race.registrations.filter(status=Registration.Status.CONFIRMED)
        .exclude(bib="")
        .only("bib", "sex", "birth_date")
        .order_by("pk")
    )


def _owner(organizer: Organizer) -> Any:
    membership = (
        Membership.objects.filter(organizer=organizer, role=Membership.Role.OWNER)
        .select_related("user")
        .order_by("pk")
        .first()
    )
    if membership is None:
        raise RuntimeError(f"The demo organizer {organizer.slug} has no owner to time its races.")
    return membership.user


def race_time(*, race: Race, entries: Sequence[Registration], by: Any) -> None:
    """Import a decoder file per timing point, disqualify one finisher, publish, then
    penalise another (audited once official)."""
    points = ensure_timing_points(race=race)
    made = race_field(
        entries=entries, points=points, sport=race.event.sport, gun=race.start_time,
        climb_m=race.elevation_gain_m or 0, seed=race.pk,
    )  # fmt: skip
    for point in points:
        _import(race=race, point=point, data=_file(race, point, made.passings[point.pk]), by=by)
    by_bib = {e.bib: e.pk for e in entries}
    if made.dsq_bib:
        result_set_status(
            race_id=race.pk, registration_id=by_bib[made.dsq_bib], manual_status="dsq",
            dsq_reason=made.dsq_reason, by=by,
        )  # fmt: skip
    results_publish(race_id=race.pk, by=by)
    penalised = Result.objects.filter(race=race, rank_overall=5).values_list(
        "registration_id", flat=True
    )
    for registration_id in penalised[:1]:
        result_set_adjustment(
            race_id=race.pk, registration_id=registration_id, penalty_ms=PENALTY_MS, by=by,
            reason=PENALTY_REASON,
        )  # fmt: skip


def _file(race: Race, point: TimingPoint, passings: Any) -> bytes:
    return raceresult_file(
        passings, box_name=f"{point.name} box", box_id=f"T-{race.pk:03d}{point.order:02d}",
        zone=race.event.local_tz,
    )  # fmt: skip


def _import(*, race: Race, point: TimingPoint, data: bytes, by: Any) -> None:
    """One decoder's file in through the admin's two steps; a line it cannot read is a bug
    in the demo's file, so the demo stops rather than publish half a race."""
    if not data.strip():
        return
    filename = f"{race.event.slug}-{race.slug}-{point.name}.txt"
    key, preview = import_stage(
        race=race, user=by, data=data, layout="raceresult", point=point, filename=filename
    )
    if preview.problem_count:
        raise RuntimeError(f"The demo's {filename} has bad lines: {preview.problems[:3]}")
    import_confirm(race=race, user=by, key=key)


def demo_series() -> Series | None:
    """The season's cup over the demo organizer's 10Ks: the past ones have results, the
    coming ones count as they are run; the best three count."""
    organizer = Organizer.objects.filter(slug=SERIES_ORGANIZER).first()
    if organizer is None:
        return None
    series, _ = Series.objects.get_or_create(
        slug=SERIES_SLUG,
        defaults={
            "organizer": organizer, "name": "Northern Lights 10K Cup", "is_public": True,
            "best_of": 3,
            "description": "Every 10K Northern Lights Running puts on this season: points "
            "for each finish by the points table, your best three count.",
        },
    )  # fmt: skip
    races = Race.objects.filter(event__organizer=organizer, distance_m=SERIES_DISTANCE_M)
    # This season's: not the live race, nor an earlier edition of a recurring event.
    races = races.exclude(event__slug=LIVE_EVENT_SLUG).filter(event__next_editions__isnull=True)
    SeriesRace.objects.bulk_create(
        [SeriesRace(series=series, race=race) for race in races], ignore_conflicts=True
    )
    series_recompute(series_id=series.pk)
    return series
