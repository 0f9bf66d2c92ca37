"""Manual entry at the line: a bib typed, the read stamped now (or at a typed time).

The clock is the server's (``timezone.now``, which tests move), never the tablet's: a
tablet's clock is whatever it was set to.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction
from django.utils import timezone

from events.models import Race
from results.models import TimingPoint, TimingRead
from results.readfiles.base import LineError, bib_cell, read_id_cell, time_of_day
from results.timing_reads import NewRead, race_venue, reads_store, results_forget

SOURCE = TimingRead.Source.MANUAL
RECENT = 20


class ManualEntryError(ValueError):
    """What the timer typed cannot be a read; the message says why."""


def _typed_time(race: Race, typed: str) -> Any:
    typed = typed.strip()
    if re.fullmatch(r"\d{1,2}:\d{2}", typed):
        typed += ":00"
    try:
        return time_of_day("time", typed, venue=race_venue(race))
    except LineError as exc:
        raise ManualEntryError(f"Time: {exc.reason}.") from None


def manual_read_add(
    *,
    race: Race,
    point: TimingPoint,
    bib: str,
    typed_time: str = "",
    read_id: str = "",
    actor: Any = None,
) -> tuple[TimingRead | None, bool]:
    """Store a read of ``bib`` at ``point``: now, or at ``typed_time`` (``HH:MM[:SS[.fff]]``
    at the venue on the race day). The read, and whether it was new (a resent ``read_id``
    from a tablet retrying is not)."""
    try:
        bib = bib_cell(bib)
        read_id = read_id_cell(read_id) if read_id else ""
    except LineError as exc:
        raise ManualEntryError(f"{exc.column.capitalize()}: {exc.reason}.") from None
    if typed_time.strip():
        at = _typed_time(race, typed_time)
    else:
        now = timezone.now()
        at = now.replace(microsecond=now.microsecond // 1000 * 1000)
    read = NewRead(point=point, at=at, bib=bib, read_id=f"m-{read_id}" if read_id else "")
    outcome = reads_store(race=race, source=SOURCE, reads=[read], actor=actor)
    if outcome.stored:
        return outcome.stored[0], True
    existing = TimingRead.objects.filter(race=race, source=SOURCE, source_read_id=read.read_id)
    return existing.first(), False


def manual_read_undo(*, race: Race, point: TimingPoint, read_pk: int, actor: Any = None) -> bool:
    """Take back a manual read of this point (a mistyped bib); whether there was one."""
    with transaction.atomic():
        read = TimingRead.objects.filter(race=race, point=point, source=SOURCE, pk=read_pk).first()
        if read is None:
            return False
        read.delete()
        results_forget(race=race, read=read, actor=actor)
    return True


def recent_reads(*, race: Race, point: TimingPoint, limit: int = RECENT) -> list[TimingRead]:
    """The point's reads last stored, whatever their source: the timer checks what they
    just typed (a typed time may be earlier than reads stamped since)."""
    reads = TimingRead.objects.filter(race=race, point=point).select_related("registration")
    return list(reads.order_by("-pk")[:limit])
