"""Results' part of an athlete's export (``pace.lib.personal_data``). Nothing is erased:
a result belongs to its entry, which integrations anonymises, so the race's results keep
their ranks with the athlete's name gone."""

from __future__ import annotations

from typing import Any

from pace.lib.personal_data import ExportPart, register
from results.models import Result


def export_results(user: Any) -> ExportPart:
    rows = []
    results = Result.objects.filter(registration__user=user).select_related("race__event")
    for result in results.order_by("race__start_time"):
        rows.append(
            {
                "event": result.race.event.name,
                "race": result.race.name,
                "entry": result.registration_id,
                "status": result.status,
                "time_ms": result.time_ms,
                "gun_time_ms": result.gun_time_ms,
                "chip_time_ms": result.chip_time_ms,
                "rank_overall": result.rank_overall,
                "rank_sex": result.rank_sex,
                "rank_category": result.rank_category,
                "splits_ms": result.splits,
            }
        )
    return ExportPart(data={"results": rows})


def register_part() -> None:
    register("results", order=60, exporter=export_results)
