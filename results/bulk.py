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

from django.db import connection

from results.models import Result

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
RowValues = tuple[Any, ...]  # values of COMPUTED


def write_results(rows: Sequence[tuple[int, RowValues]], *, updated_at: Any) -> None:
    """Store the computed values of existing results, given as ``(result id, values)``."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        _write_postgresql(rows, updated_at)
        return
    objects = []
    for pk, values in rows:
        result = Result(pk=pk, updated_at=updated_at)
        for name, value in zip(COMPUTED, values, strict=True):
            setattr(result, name, value)
        objects.append(result)
    Result.objects.bulk_update(objects, [*COMPUTED, "updated_at"], batch_size=500)


def _write_postgresql(rows: Sequence[tuple[int, RowValues]], updated_at: Any) -> None:
    table = Result._meta.db_table
    columns = list(zip(*(values for _, values in rows), strict=True))
    splits = COMPUTED.index("splits")
    columns[splits] = tuple(json.dumps(value, separators=(",", ":")) for value in columns[splits])
    arrays = ", ".join(f"%s::{kind}[]" for kind in ("bigint", *_PG_TYPES))
    names = ", ".join(("id", *COMPUTED))
    sets = ", ".join(
        f"{name} = v.{name}" + ("::jsonb" if name == "splits" else "") for name in COMPUTED
    )
    sql = (
        f"UPDATE {table} AS r SET {sets}, updated_at = %s "  # the names are ours, not input
        f"FROM unnest({arrays}) AS v({names}) WHERE r.id = v.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [updated_at, [pk for pk, _ in rows], *map(list, columns)])
