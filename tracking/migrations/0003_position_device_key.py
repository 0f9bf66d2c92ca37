"""Each fix keeps a key of the device that sent it: ``welcome.last_seq`` is per device.

A default in the database too (``db_default``), so that processes still running the
previous code during a rolling deploy insert fixes without the column. SQLite adds a
column by rebuilding the table, which drops indexes made by raw SQL (0002's
``position_race_t``): it is made again after, and before the column goes on the way
back, so that 0002 can still be reversed.
"""

from django.db import migrations, models


def race_t_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS position_race_t ON tracking_position (race_id, t)"
        )


class Migration(migrations.Migration):
    dependencies = [("tracking", "0002_position_time_index")]
    operations = [
        migrations.RunPython(migrations.RunPython.noop, race_t_index),
        migrations.AddField(
            model_name="position",
            name="device_key",
            field=models.BigIntegerField(db_default=0, default=0),
        ),
        migrations.RunPython(race_t_index, migrations.RunPython.noop),
    ]
