"""Writing many results at once: a race's recompute rewrites thousands of rows.

Django's ``bulk_update`` writes one ``CASE WHEN id=… THEN …`` per field and row, which
PostgreSQL evaluates row by row (quadratic in the batch: seconds for 10,000 rows of
twelve fields). On PostgreSQL one ``UPDATE … FROM unnest(arrays)`` writes them all in
one statement; other databases (SQLite, the embedded default) take ``bulk_update``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import orjson
from django.db import connection
from django.db.models import QuerySet

from results.models import Result
from results.rules import EpochMs, from_ms, to_ms

# The computed columns of a result, in the order ``RowValues`` holds them.
COMPUTED = (
    "status",
    "sex",
    "category_id",
    "started_at",
    "finished_at",
    "gun_time_ms",
    "chip_time_ms",
    "time_ms",
    "rank_overall",
    "rank_sex",
    "rank_category",
    "splits",
)
_PG_TYPES = (
    "text",
    "text",
    "bigint",
    "timestamptz",
    "timestamptz",
    "bigint",
    "bigint",
    "bigint",
    "integer",
    "integer",
    "integer",
    "text",  # JSON, cast to jsonb in the SET
)
# Values of COMPUTED; ``started_at`` and ``finished_at`` as ms since the epoch, like every
# time the computation handles (date-times only in and out of the database).
RowValues = tuple[Any, ...]
_TIMES = (COMPUTED.index("started_at"), COMPUTED.index("finished_at"))
_SPLITS = COMPUTED.index("splits")


def db_values(values: RowValues) -> dict[str, Any]:
    """A result's computed columns as the model's fields take them."""
    fields = dict(zip(COMPUTED, values, strict=True))
    for name in ("started_at", "finished_at"):
        if fields[name] is not None:
            fields[name] = from_ms(fields[name])
    return fields


def load_results(results: QuerySet[Result], *lead: str, tail: tuple[str, ...] = ()) -> list[Any]:
    """``(*lead, *computed values, *tail)`` of each result, times in ms.

    On PostgreSQL in one fetch, times turned into ms by the database and the splits'
    JSON decoded by orjson: 10,000 results through Django's row converters took longer
    than computing them."""
    n = len(lead)
    if connection.vendor != "postgresql":
        rows = results.values_list(*lead, *COMPUTED, *tail)
        return [_times_in_ms(row, n) for row in rows]
    names = list(COMPUTED)
    names[_TIMES[0]], names[_TIMES[1]] = "_started_ms", "_finished_ms"
    query = results.annotate(
        _started_ms=EpochMs("started_at"), _finished_ms=EpochMs("finished_at")
    ).values_list(*lead, *names, *tail)
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    at = n + _SPLITS
    return [(*row[:at], orjson.loads(row[at]), *row[at + 1 :]) for row in rows]


def _times_in_ms(row: tuple[Any, ...], n: int) -> tuple[Any, ...]:
    out = list(row)
    for i in _TIMES:
        if out[n + i] is not None:
            out[n + i] = to_ms(out[n + i])
    return tuple(out)


def write_results(rows: Sequence[tuple[int, RowValues]], *, updated_at: Any) -> None:
    """Store the computed values of existing results, given as ``(result id, values)``."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        _write_postgresql(rows, updated_at)
        return
    objects = [Result(pk=pk, updated_at=updated_at, **db_values(values)) for pk, values in rows]
    Result.objects.bulk_update(objects, [*COMPUTED, "updated_at"], batch_size=500)


def create_results(*, race_id: int, rows: Sequence[tuple[int, RowValues]], updated_at: Any) -> None:
    """Store new results, given as ``(registration id, values)``: a race's first
    computation makes one per entry (on PostgreSQL in one ``INSERT … SELECT unnest``,
    not 10,000 model instances)."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        Result.objects.bulk_create(
            Result(race_id=race_id, registration_id=reg, updated_at=updated_at, **db_values(v))
            for reg, v in rows
        )
        return
    names = ", ".join(("registration_id", *COMPUTED))
    values = ", ".join(("v.registration_id", *(f"v.{name}" for name in COMPUTED)))
    values = values.replace("v.splits", "v.splits::jsonb")
    sql = (
        f"INSERT INTO {Result._meta.db_table} (race_id, manual_status, dsq_reason, penalty_ms,"
        f" bonus_ms, updated_at, {names}) SELECT %s, '', '', 0, 0, %s, {values}"
        f" FROM unnest({_arrays()}) AS v({names})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [race_id, updated_at, *_columns(rows)])


def _arrays() -> str:
    return ", ".join(f"%s::{kind}[]" for kind in ("bigint", *_PG_TYPES))


def _columns(rows: Sequence[tuple[int, RowValues]]) -> list[list[Any]]:
    """The keys, then each computed column, as lists for ``unnest``."""
    columns = list(zip(*(values for _, values in rows), strict=True))
    for i in _TIMES:
        columns[i] = tuple(None if ms is None else from_ms(ms) for ms in columns[i])
    columns[_SPLITS] = tuple(json.dumps(value, separators=(",", ":")) for value in columns[_SPLITS])
    return [[key for key, _ in rows], *map(list, columns)]


def _write_postgresql(rows: Sequence[tuple[int, RowValues]], updated_at: Any) -> None:
    table = Result._meta.db_table
    names = ", ".join(("id", *COMPUTED))
    sets = ", ".join(
        f"{name} = v.{name}" + ("::jsonb" if name == "splits" else "") for name in COMPUTED
    )
    sql = (
        f"UPDATE {table} AS r SET {sets}, updated_at = %s "  # the names are ours, not input
        f"FROM unnest({_arrays()}) AS v({names}) WHERE r.id = v.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [updated_at, *_columns(rows)])
