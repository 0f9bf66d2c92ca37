"""Room on each page of results for HOT updates (PostgreSQL only).

A live read shifts other results' ranks, columns no index holds: with free space on
the row's page PostgreSQL rewrites the row in place without touching the table's
four indexes. A full table page (the default fill factor, 100) forbids that.
"""

from typing import Any

from django.db import migrations


def fillfactor(value: int) -> Any:
    def run(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"ALTER TABLE results_result SET (fillfactor = {value})")

    return run


class Migration(migrations.Migration):
    dependencies = [("results", "0005_finished_rank_indexes")]

    operations = [migrations.RunPython(fillfactor(80), fillfactor(100))]
