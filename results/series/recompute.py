"""Storing a series' standings from its races' results, and keeping them current.

A series' standings are recomputed whole: a series is a few races of a few thousand
finishers, read in one query, so there is no incremental path to keep in step. While
a counted race runs, its live reads would ask for this many times a second; a flag in
the cache lets one recompute be queued per series and ``QUEUE_DELAY_S``, which takes
in every read before it (the task clears the flag before it reads, so nothing read
after is missed). With tasks run in-process (the embedded topology) there is no delay
and every change recomputes at once.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from results.athletes import EntryPerson, athlete_keys
from results.models import Result, Series, SeriesRace, SeriesStanding
from results.series.scoring import Placing, Rules, standings

QUEUE_DELAY_S = 5
_FIELDS = (
    "race_id", "registration_id", "registration__user_id", "registration__first_name",
    "registration__last_name", "registration__birth_date", "registration__club", "sex",
    "category__code", "rank_overall", "rank_sex", "rank_category",
)  # fmt: skip


def series_race_ids(series_id: int) -> list[int]:
    """The series' races in the order they were run."""
    rows = SeriesRace.objects.filter(series_id=series_id).order_by("race__start_time", "race_id")
    return list(rows.values_list("race_id", flat=True))


def series_placings(race_ids: list[int]) -> list[Placing]:
    """Every ranked finish of these races, in race order, with its athlete's key."""
    rows = list(
        Result.objects.filter(
            race_id__in=race_ids, status=Result.Status.FINISHED, rank_overall__isnull=False
        ).values_list(*_FIELDS)
    )
    keys = athlete_keys(EntryPerson(*row[1:6]) for row in rows)
    order = {race_id: i for i, race_id in enumerate(race_ids)}
    rows.sort(key=lambda row: (order[row[0]], row[9]))
    return [
        Placing(
            race_id=race_id,
            athlete=keys[reg],
            name=f"{first} {last}",
            club=club,
            sex=sex,
            category=code or "",
            rank_overall=overall,
            rank_sex=by_sex,
            rank_category=in_category,
        )
        for race_id, reg, _, first, last, _, club, sex, code, overall, by_sex, in_category in rows
    ]


def series_recompute(*, series_id: int, now: dt.datetime | None = None) -> int:
    """Replace the series' stored standings with fresh ones; the number of rows stored."""
    with transaction.atomic():
        series = Series.objects.select_for_update().filter(pk=series_id).first()
        if series is None:
            return 0
        race_ids = series_race_ids(series_id)
        rows = standings(Rules.of(series), race_ids=race_ids, placings=series_placings(race_ids))
        SeriesStanding.objects.filter(series_id=series_id).delete()
        SeriesStanding.objects.bulk_create(
            SeriesStanding(
                series_id=series_id,
                scope=row.scope,
                rank=row.rank,
                athlete_key=row.athlete,
                name=row.name,
                club=row.club,
                points=row.points,
                races=len(row.scored),
                detail=[
                    {"race": s.race_id, "rank": s.rank, "points": s.points, "counted": s.counted}
                    for s in row.scored
                ],
            )
            for row in rows
        )
        series.computed_at = now or timezone.now()
        series.save(update_fields=["computed_at"])
        return len(rows)


def _queued_key(series_id: int) -> str:
    return f"series-recompute-queued:{series_id}"


def series_recompute_queue(*, series_id: int) -> bool:
    """Ask for the series' standings to be recomputed soon; False if already asked."""
    from results.tasks import recompute_series

    if not cache.add(_queued_key(series_id), 1, QUEUE_DELAY_S * 4):
        return False
    recompute_series.apply_async(args=(series_id,), countdown=QUEUE_DELAY_S)
    return True


def series_recompute_queued(*, series_id: int) -> int:
    """The queued recompute: the flag goes first, so a change during it queues another."""
    cache.delete(_queued_key(series_id))
    return series_recompute(series_id=series_id)


def on_results_changed(sender: Any, *, race_id: int, **kwargs: Any) -> None:
    """``results_changed``'s listener: the series counting that race recompute."""
    for series_id in SeriesRace.objects.filter(race_id=race_id).values_list("series_id", flat=True):
        series_recompute_queue(series_id=series_id)
