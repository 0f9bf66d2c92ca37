"""Tracking tokens and device ids at rest: a SHA-256 digest to look them up by, a sealed
copy (pace.lib.sealing) for the athlete's tracker page, a 4-character hint; the plaintext
columns are dropped. Backwards restores the plaintext from the sealed copies."""

import hashlib

from django.db import migrations, models

from pace.lib import sealing

TOKEN_PURPOSE = "tracking:token"
DEVICE_PURPOSE = "tracking:device"


def _digest(value):
    return hashlib.sha256(value.encode("utf-8", errors="replace")).hexdigest()


def seal_plaintext(apps, schema_editor):
    Tracker = apps.get_model("tracking", "Tracker")
    for tracker in Tracker.objects.only("pk", "token", "device_id").iterator():
        tracker.token_digest = _digest(tracker.token)
        tracker.token_sealed = sealing.encrypt(tracker.token, purpose=TOKEN_PURPOSE)
        tracker.token_hint = tracker.token[:4]
        if tracker.device_id:
            tracker.device_digest = _digest(tracker.device_id)
            tracker.device_sealed = sealing.encrypt(tracker.device_id, purpose=DEVICE_PURPOSE)
            tracker.device_hint = tracker.device_id[:4]
        tracker.save(
            update_fields=[
                "token_digest", "token_sealed", "token_hint",
                "device_digest", "device_sealed", "device_hint",
            ]
        )


def open_sealed(apps, schema_editor):
    Tracker = apps.get_model("tracking", "Tracker")
    for tracker in Tracker.objects.iterator():
        tracker.token = sealing.decrypt(tracker.token_sealed, purpose=TOKEN_PURPOSE)
        tracker.device_id = (
            sealing.decrypt(tracker.device_sealed, purpose=DEVICE_PURPOSE)
            if tracker.device_sealed
            else None
        )
        tracker.save(update_fields=["token", "device_id"])


class Migration(migrations.Migration):
    dependencies = [("tracking", "0009_sos_call_client_id")]

    operations = [
        migrations.AddField(
            "tracker", "token_digest",
            models.CharField(max_length=64, null=True, editable=False),
        ),
        migrations.AddField(
            "tracker", "token_sealed", models.TextField(default="", editable=False)
        ),
        migrations.AddField(
            "tracker", "token_hint",
            models.CharField(max_length=4, default="", editable=False),
        ),
        migrations.AddField(
            "tracker", "device_digest",
            models.CharField(max_length=64, null=True, blank=True, editable=False),
        ),
        migrations.AddField(
            "tracker", "device_sealed",
            models.TextField(blank=True, default="", editable=False),
        ),
        migrations.AddField(
            "tracker", "device_hint",
            models.CharField(max_length=4, blank=True, default="", editable=False),
        ),
        # Nullable and unconstrained while the backwards step fills them again.
        migrations.AlterField(
            "tracker", "token", models.CharField(max_length=64, null=True)
        ),
        migrations.AlterField(
            "tracker", "device_id", models.CharField(max_length=100, null=True, blank=True)
        ),
        migrations.RunPython(seal_plaintext, open_sealed, elidable=False),
        migrations.RemoveField("tracker", "token"),
        migrations.RemoveField("tracker", "device_id"),
        migrations.AlterField(
            "tracker", "token_digest",
            models.CharField(max_length=64, unique=True, editable=False),
        ),
        migrations.AlterField(
            "tracker", "token_sealed", models.TextField(editable=False)
        ),
        migrations.AlterField(
            "tracker", "token_hint", models.CharField(max_length=4, editable=False)
        ),
        migrations.AlterField(
            "tracker", "device_digest",
            models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False),
        ),
        migrations.AlterField(
            "tracker", "device_sealed", models.TextField(blank=True, editable=False)
        ),
        migrations.AlterField(
            "tracker", "device_hint",
            models.CharField(max_length=4, blank=True, editable=False),
        ),
    ]
