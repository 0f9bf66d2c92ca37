"""Results' tasks: thin, idempotent, taking ids (house style rule 6)."""

from __future__ import annotations

from celery import shared_task

from results.gps import gps_reads_store
from results.series.recompute import series_recompute_queued


@shared_task(ignore_result=True)
def record_gps_crossings(race_id: int, crossings: list[list[object]]) -> None:
    """GPS crossings of a race become reads; stored once however often this runs."""
    gps_reads_store(
        race_id=race_id,
        crossings=[(int(reg), str(point), int(ms)) for reg, point, ms in crossings],  # type: ignore[call-overload]
    )


@shared_task(ignore_result=True)
def recompute_series(series_id: int) -> None:
    """A series' standings from its races' current results (queued once per few seconds)."""
    series_recompute_queued(series_id=series_id)
