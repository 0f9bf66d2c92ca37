"""Storing timing reads, whatever brought them (a decoder's file, a live push, the line).

Every source ends here: a chip is mapped to its bib by the event's chip file (a chip with
no mapping that is some entry's bib is that bib, as decoders' bib tags are), the bib to its
entry in the race, and a read whose ``(source, read id)`` is already stored is a duplicate,
not a second read. A read matching no entry is kept (``registration`` empty) to be matched
when its entry or mapping arrives. Stored reads go on to the results.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from django.db import connections, router, transaction
from django.utils import timezone

from events.models import Race, Registration
from results.compute import recompute_race
from results.live import apply_reads, refresh_result
from results.models import ChipMapping, TimingPoint, TimingRead
from results.readfiles import Venue

logger = logging.getLogger(__name__)

CHUNK = 2_000
# Up to this many new reads (a push, the line) are loaded back and applied to the results
# athlete by athlete; past it (a file) they are only counted, and the race recomputed once.
LIVE_BATCH = 500
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class NewRead:
    point: TimingPoint
    at: dt.datetime
    bib: str = ""
    chip: str = ""
    read_id: str = ""


@dataclass
class StoreOutcome:
    stored_count: int = 0
    unmatched: int = 0  # stored reads whose bib or chip matches no entry yet
    duplicates: set[str] = field(default_factory=set)
    # The stored reads themselves, for batches up to ``LIVE_BATCH`` (a file's are counted).
    stored: list[TimingRead] = field(default_factory=list)


def race_venue(race: Race) -> Venue:
    """The race's zone and race day: a file's times of day are on the day the gun goes."""
    zone = race.event.local_tz
    return Venue(zone=zone, race_day=race.start_time.astimezone(zone).date())


def venue_clock(at: dt.datetime, zone: Any, *, date: bool = False) -> str:
    """A read's time as the venue's clocks showed it, to the millisecond."""
    shown = at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S.%f" if date else "%H:%M:%S.%f")
    return shown[:-3]


def _chunks(items: list[T], size: int = CHUNK) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def chip_bibs(*, race: Race, chips: Iterable[str]) -> dict[str, str]:
    """The bib of each chip the event's chip file maps (others are left out)."""
    wanted, found = sorted(set(chips) - {""}), dict[str, str]()
    for chunk in _chunks(wanted):
        rows = ChipMapping.objects.filter(event_id=race.event_id, chip__in=chunk)
        found.update(rows.values_list("chip", "bib"))
    return found


def entries_by_bib(*, race: Race, bibs: Iterable[str]) -> dict[str, int]:
    """The registration id of each bib that is an entry of this race."""
    wanted, found = sorted(set(bibs) - {""}), dict[str, int]()
    for chunk in _chunks(wanted):
        rows = Registration.objects.filter(race=race, bib__in=chunk)
        found.update(rows.values_list("bib", "pk"))
    return found


def already_stored(*, race: Race, source: str, read_ids: Iterable[str]) -> set[str]:
    wanted, found = sorted(set(read_ids) - {""}), set[str]()
    connection = connections[router.db_for_read(TimingRead)]
    if connection.vendor == "postgresql" and len(wanted) > CHUNK:
        # One array, not 50 statements of 2,000 parameters each (a file's 100,000 ids).
        sql = (
            f"SELECT source_read_id FROM {TimingRead._meta.db_table} WHERE race_id = %s"
            " AND source = %s AND source_read_id <> '' AND source_read_id = ANY(%s::text[])"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [race.pk, source, wanted])
            return {row[0] for row in cursor.fetchall()}
    for chunk in _chunks(wanted):
        rows = TimingRead.objects.filter(race=race, source=source, source_read_id__in=chunk)
        found.update(rows.values_list("source_read_id", flat=True))
    return found


Row = dict[str, Any]  # a read's columns by attribute name, before it is stored


def _rows(
    *, race: Race, source: str, reads: list[NewRead], actor: Any, token_id: int | None = None
) -> list[Row]:
    mapped = chip_bibs(race=race, chips=(r.chip for r in reads if not r.bib))
    bibs = [r.bib or mapped.get(r.chip, r.chip) for r in reads]
    entries = entries_by_bib(race=race, bibs=bibs)
    user_id = getattr(_user(actor), "pk", None)
    rows = []
    for read, bib in zip(reads, bibs, strict=True):
        # An unmapped chip is only a bib if some entry wears it: else it stays a chip.
        bib = bib if (read.bib or read.chip in mapped or bib in entries) else ""
        rows.append(
            {
                "race_id": race.pk,
                "point_id": read.point.pk,
                "registration_id": entries.get(bib),
                "bib": bib,
                "chip": read.chip,
                "time": read.at,
                "source": source,
                "source_read_id": read.read_id,
                "created_by_id": user_id,
                "token_id": token_id,
            }
        )
    return rows


def reads_store(
    *, race: Race, source: str, reads: list[NewRead], actor: Any = None, token: Any = None
) -> StoreOutcome:
    """Store ``reads`` of one source in ``race``; those already stored are duplicates.
    ``actor``: the user who sent them, or ``token``: the timing token that pushed them."""
    outcome = StoreOutcome()
    # Every read gets an id (one the sender did not give is new each time): the rows
    # stored are found again by them, as ``bulk_create`` returns no ids everywhere.
    reads = [r if r.read_id else replace(r, read_id=f"u-{uuid.uuid4().hex}") for r in reads]
    ids = [r.read_id for r in reads]
    # A file on PostgreSQL: the insert finds what was stored before (ON CONFLICT … RETURNING).
    bulk = len(reads) > LIVE_BATCH and _vendor() == "postgresql"
    with transaction.atomic():
        if not bulk:
            outcome.duplicates = already_stored(race=race, source=source, read_ids=ids)
        fresh, seen = [], set(outcome.duplicates)
        for read in reads:
            if read.read_id in seen:
                outcome.duplicates.add(read.read_id)
                continue
            seen.add(read.read_id)
            fresh.append(read)
        token_id = getattr(token, "pk", None)
        rows = _rows(race=race, source=source, reads=fresh, actor=actor, token_id=token_id)
        outcome.unmatched = sum(1 for row in rows if row["registration_id"] is None)
        if bulk:
            stored_ids = _insert_returning(rows)
            outcome.duplicates |= {row["source_read_id"] for row in rows} - stored_ids
            outcome.stored_count = len(stored_ids)
            outcome.unmatched = sum(
                1
                for row in rows
                if row["registration_id"] is None and row["source_read_id"] in stored_ids
            )
            if outcome.unmatched < outcome.stored_count:
                recompute_race(race_id=race.pk, by=_user(actor))
        elif len(rows) <= LIVE_BATCH:
            # A read stored by a concurrent request since the duplicates' check is skipped.
            TimingRead.objects.bulk_create([TimingRead(**r) for r in rows], ignore_conflicts=True)
            outcome.stored = _stored(race=race, source=source, rows=rows)
            outcome.stored_count = len(outcome.stored)
            results_apply(race=race, reads=outcome.stored, actor=actor)
        else:
            before = TimingRead.objects.filter(race=race, source=source).count()
            _insert_many(rows)
            stored = TimingRead.objects.filter(race=race, source=source).count()
            outcome.stored_count = stored - before
            if outcome.unmatched < len(rows):
                recompute_race(race_id=race.pk, by=_user(actor))
    return outcome


def _vendor() -> str:
    return str(connections[router.db_for_write(TimingRead)].vendor)


# Columns written by ``_insert_returning``, with their PostgreSQL array types; the others
# are one value for the whole batch.
_ARRAYS = (
    ("point_id", "bigint"),
    ("registration_id", "bigint"),
    ("bib", "text"),
    ("chip", "text"),
    ("time", "timestamptz"),
    ("source_read_id", "text"),
)
_CONSTANTS = ("race_id", "source", "created_by_id", "token_id")


def _insert_returning(rows: list[Row]) -> set[str]:
    """PostgreSQL: ``INSERT … SELECT unnest(arrays) ON CONFLICT DO NOTHING RETURNING`` the
    ids stored, 20,000 rows a statement (a column a parameter, not 13 per row)."""
    connection = connections[router.db_for_write(TimingRead)]
    quote = connection.ops.quote_name
    names = [name for name, _ in _ARRAYS]
    sql = (
        f"INSERT INTO {quote(TimingRead._meta.db_table)} "
        f"({', '.join(quote(n) for n in (*_CONSTANTS, *names))}, created_at, ignored,"
        " ignore_reason) "
        f"SELECT {', '.join(['%s'] * len(_CONSTANTS))}, {', '.join(f'v.{n}' for n in names)},"
        " %s, false, '' "
        f"FROM unnest({', '.join(f'%s::{kind}[]' for _, kind in _ARRAYS)}) AS v({', '.join(names)})"
        " ON CONFLICT DO NOTHING RETURNING source_read_id"
    )
    stored: set[str] = set()
    now = timezone.now()
    with connection.cursor() as cursor:
        for chunk in _chunks(rows, 20_000):
            first = chunk[0]
            columns = [[row[name] for row in chunk] for name in names]
            cursor.execute(sql, [*(first[c] for c in _CONSTANTS), now, *columns])
            stored.update(row[0] for row in cursor.fetchall())
    return stored


def _insert_many(rows: list[Row]) -> None:
    """``INSERT … ON CONFLICT DO NOTHING`` in batches: a file's 100,000 reads without
    100,000 model instances, where ``bulk_create`` spends most of an import's time."""
    connection = connections[router.db_for_write(TimingRead)]
    fields = [f for f in TimingRead._meta.concrete_fields if not f.primary_key]
    names = [f.attname for f in fields]
    defaults = {
        f.attname: f.get_db_prep_save(f.get_default(), connection)
        for f in fields
        if f.attname not in rows[0]
    }
    defaults["created_at"] = connection.ops.adapt_datetimefield_value(timezone.now())
    adapt = connection.ops.adapt_datetimefield_value
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(TimingRead._meta.db_table)} "
        f"({', '.join(quote(f.column or f.attname) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))}) ON CONFLICT DO NOTHING"
    )
    with connection.cursor() as cursor:
        for chunk in _chunks(rows, 5_000):
            for row in chunk:
                row["time"] = adapt(row["time"])
            values = [tuple(row.get(n, defaults.get(n)) for n in names) for row in chunk]
            cursor.executemany(sql, values)


def _user(actor: Any) -> Any:
    return actor if getattr(actor, "pk", None) else None


def _stored(*, race: Race, source: str, rows: list[Row]) -> list[TimingRead]:
    """The rows as stored, with their ids (``bulk_create`` gives none on every database)."""
    stored: list[TimingRead] = []
    for chunk in _chunks([r["source_read_id"] for r in rows]):
        found = TimingRead.objects.filter(race=race, source=source, source_read_id__in=chunk)
        stored.extend(found)
    return stored


def results_apply(*, race: Race, reads: list[TimingRead], actor: Any = None) -> None:
    """Bring the results of new reads' athletes up to date, and tell spectators."""
    apply_reads(race_id=race.pk, reads=reads, by=_user(actor))


def results_forget(*, race: Race, read: TimingRead, actor: Any = None) -> None:
    """Bring a read's athlete up to date after the read was taken back."""
    if read.registration_id is not None:
        refresh_result(
            race_id=race.pk, registration_id=read.registration_id, by=_user(actor),
            reason="manual read taken back",
        )  # fmt: skip
