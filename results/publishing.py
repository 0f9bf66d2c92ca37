"""Official results, and the organizer's changes to results, audited once published.

While a race runs its results are provisional. Publishing recomputes them with the
race taken as over (no read: DNS; no finish: DNF) and makes them official; from
then on every change (a status, a penalty or bonus, a read set aside or edited)
writes a ``ResultChange`` for what the organizer changed and for each time or
status it changed in turn (``compute.audit``), and the publication's
``changed_at`` tells the page to say "updated".
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from results.compute import lock_race, recompute_race
from results.live import refresh_entry
from results.models import Result, ResultChange, ResultsPublication, TimingPoint, TimingRead
from results.rules import load_setup, setup_of

State = ResultsPublication.State


def results_publish(*, race_id: int, by: Any) -> ResultsPublication:
    """Make a race's results official (computed afresh, the race taken as over)."""
    with transaction.atomic():
        recompute_race(race_id=race_id, by=by, close=True)
        publication = lock_race(race_id)
        publication.state = State.OFFICIAL
        publication.published_at, publication.published_by = timezone.now(), by
        publication.changed_at = None
        publication.save()
        return publication


def results_unpublish(*, race_id: int, by: Any) -> ResultsPublication:
    """Back to provisional (a wrong publication): changes are no longer audited."""
    with transaction.atomic():
        publication = lock_race(race_id)
        publication.state = State.PROVISIONAL
        publication.save(update_fields=["state"])
        return publication


def _change(
    *,
    race_id: int,
    registration_id: int,
    inputs: dict[str, Any],
    by: Any,
    reason: str,
    read: TimingRead | None = None,
) -> Result | None:
    """Write an athlete's changed inputs, audit them once published, and recompute them."""
    setup = setup_of(lock_race(race_id))
    result = Result.objects.filter(race_id=race_id, registration_id=registration_id).first()
    if result is None and inputs:  # an entry nobody has read yet gets a row for the inputs
        refresh_entry(setup, registration_id=registration_id)
        result = Result.objects.filter(race_id=race_id, registration_id=registration_id).first()
    if result is not None and inputs:
        if setup.official:
            ResultChange.objects.bulk_create(
                ResultChange(
                    race_id=race_id, result=result, field=name, before=getattr(result, name),
                    after=value, reason=reason, changed_by=by,
                )
                for name, value in inputs.items()
                if getattr(result, name) != value
            )  # fmt: skip
        Result.objects.filter(pk=result.pk).update(**inputs)
    read_id = read.pk if read is not None else None
    refresh_entry(setup, registration_id=registration_id, by=by, reason=reason, read_id=read_id)
    if setup.official:
        ResultsPublication.objects.filter(race_id=race_id).update(changed_at=timezone.now())
    return Result.objects.filter(race_id=race_id, registration_id=registration_id).first()


@transaction.atomic
def result_set_status(
    *,
    race_id: int,
    registration_id: int,
    manual_status: str,
    dsq_reason: str = "",
    by: Any,
    reason: str = "",
) -> Result | None:
    """Set (or clear, with "") an athlete's DNF, DNS or DSQ; a DSQ says why."""
    if manual_status not in Result.ManualStatus.values:
        raise ValueError(f"{manual_status!r} is not a status an organizer sets")
    if manual_status == Result.ManualStatus.DSQ and not dsq_reason.strip():
        raise ValueError("A disqualification needs its reason.")
    inputs = {"manual_status": manual_status, "dsq_reason": dsq_reason.strip()}
    return _change(
        race_id=race_id, registration_id=registration_id, inputs=inputs, by=by,
        reason=reason or dsq_reason,
    )  # fmt: skip


@transaction.atomic
def result_set_adjustment(
    *,
    race_id: int,
    registration_id: int,
    penalty_ms: int = 0,
    bonus_ms: int = 0,
    by: Any,
    reason: str = "",
) -> Result | None:
    """Set an athlete's time penalty and bonus (milliseconds, added to / taken off the
    ranked time)."""
    if penalty_ms < 0 or bonus_ms < 0:
        raise ValueError("Penalties and bonuses are positive durations.")
    inputs = {"penalty_ms": penalty_ms, "bonus_ms": bonus_ms}
    return _change(
        race_id=race_id, registration_id=registration_id, inputs=inputs, by=by, reason=reason
    )


@transaction.atomic
def read_update(
    *,
    read: TimingRead,
    by: Any,
    reason: str = "",
    ignored: bool | None = None,
    time: dt.datetime | None = None,
    point: TimingPoint | None = None,
) -> TimingRead:
    """Set a read aside (or back), or move it in time or to another point; the athlete's
    result follows."""
    read = TimingRead.objects.select_for_update().get(pk=read.pk)
    before = {"ignored": read.ignored, "time": read.time, "point_id": read.point_id}
    if ignored is not None:
        read.ignored, read.ignore_reason = ignored, (reason if ignored else "")
    if time is not None:
        read.time = time
    if point is not None:
        if point.race_id != read.race_id:
            raise ValueError("Choose a timing point of the read's race.")
        read.point = point
    read.save()
    if read.registration_id is None:
        return read
    official = load_setup(race_id=read.race_id).official
    if official:
        result = Result.objects.filter(
            race_id=read.race_id, registration_id=read.registration_id
        ).first()
        after = {"ignored": read.ignored, "time": read.time, "point_id": read.point_id}
        ResultChange.objects.bulk_create(
            ResultChange(
                race_id=read.race_id, result=result, read=read, field=f"read.{name}",
                before=_json(before[name]), after=_json(after[name]), reason=reason,
                changed_by=by,
            )
            for name in before
            if before[name] != after[name]
        )  # fmt: skip
    _change(
        race_id=read.race_id, registration_id=read.registration_id, inputs={}, by=by,
        reason=reason, read=read,
    )  # fmt: skip
    return read


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime) else value
