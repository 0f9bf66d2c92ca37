"""GPS crossings from tracking become timing reads (source ``gps``).

Tracking sends ``crossings_stored`` after its ticker stores crossings; the work is
handed to a task after commit so the ticker never waits on results. A crossing is
one read per athlete and point (``source_read_id`` "registration:point"), so a
crossing seen twice is stored once; its point is the race's timing point of the
same name (timing points are made from the course's split points, as the ticker's
are). A chip read at the same point beats it (``results.filtering``).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db import transaction

from events.models import Race
from results.live import ResultFrame, apply_reads
from results.models import TimingRead
from results.points import ensure_timing_points
from results.rules import from_ms, to_ms

logger = logging.getLogger(__name__)

Crossing = tuple[int, str, int]  # (registration id, point name, time in epoch ms)


def on_crossings_stored(
    sender: Any, *, race_id: int, crossings: list[tuple[int, str, dt.datetime]], **kwargs: Any
) -> None:
    from results.tasks import record_gps_crossings

    payload: list[list[object]] = [[reg, point, to_ms(at)] for reg, point, at in crossings]
    transaction.on_commit(lambda: record_gps_crossings.delay(race_id, payload))


def gps_reads_store(*, race_id: int, crossings: list[Crossing]) -> list[ResultFrame]:
    """Store crossings as GPS reads and bring their athletes' results up to date."""
    race = Race.objects.select_related("course").get(pk=race_id)
    points = {p.name: p for p in ensure_timing_points(race=race)}
    reads = []
    for registration_id, name, ms in crossings:
        point = points.get(name)
        if point is None:
            logger.info("race %s: no timing point named %r for a GPS crossing", race_id, name)
            continue
        reads.append(
            TimingRead(
                race_id=race_id,
                point=point,
                registration_id=registration_id,
                time=from_ms(ms),
                source=TimingRead.Source.GPS,
                source_read_id=f"{registration_id}:{name}",
            )
        )
    TimingRead.objects.bulk_create(reads, ignore_conflicts=True)
    return apply_reads(race_id=race_id, reads=reads)
