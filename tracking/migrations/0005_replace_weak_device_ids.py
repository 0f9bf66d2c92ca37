"""Replace every stored device id that breaks the rule ``/osmand/`` now holds ids to.

Migration 0004 replaced only the ids Pace itself issued (``sim-``/``lt-``); an id linked
before the rule (``123456``, an 8-digit number, ``aaaaaaaa``) still named its tracker.
The lookup refuses such ids now; this gives each of their trackers a fresh random id
(the athlete enters it from the tracker page), as Pace issues them.
"""

import secrets

from django.db import migrations

from tracking.ingest.deviceids import device_id_problem


def replace_weak_ids(apps, schema_editor):
    Tracker = apps.get_model("tracking", "Tracker")
    weak = [
        pk
        for pk, device_id in Tracker.objects.filter(device_id__isnull=False)
        .values_list("pk", "device_id")
        .iterator(chunk_size=2000)
        if device_id_problem(device_id)
    ]
    for pk in weak:
        Tracker.objects.filter(pk=pk).update(device_id=secrets.token_urlsafe(12))


class Migration(migrations.Migration):
    dependencies = [
        ("tracking", "0004_tracker_device_id_issued"),
    ]

    operations = [
        migrations.RunPython(replace_weak_ids, migrations.RunPython.noop),
    ]
