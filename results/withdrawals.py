"""Race control's DNF reaches results: ``tracking.signals.athlete_withdrawn`` sets the
athlete's status DNF through ``results.publishing`` (audited once results are official,
with who marked it and why)."""

from __future__ import annotations

from typing import Any

from results.models import Result
from results.publishing import result_set_status


def on_athlete_withdrawn(
    sender: Any, *, race_id: int, registration_id: int, by: Any, reason: str, **kwargs: Any
) -> None:
    result_set_status(
        race_id=race_id,
        registration_id=registration_id,
        manual_status=Result.ManualStatus.DNF,
        by=by,
        reason=reason,
    )
