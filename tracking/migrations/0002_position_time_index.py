"""Positions are appended in time order and read per race by time: BRIN on PostgreSQL.

BRIN indexes are a few pages for millions of rows and cost almost nothing to
append to; SQLite (the embedded default) gets a plain index instead.
"""

from django.db import migrations


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX position_race_t_brin ON tracking_position USING brin (race_id, t)"
        )
    else:
        schema_editor.execute("CREATE INDEX position_race_t ON tracking_position (race_id, t)")


def drop(apps, schema_editor):
    name = "position_race_t_brin" if schema_editor.connection.vendor == "postgresql" else "position_race_t"
    schema_editor.execute(f"DROP INDEX {name}")


class Migration(migrations.Migration):
    dependencies = [("tracking", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
