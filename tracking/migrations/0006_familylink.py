import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0002_event_timezone_validator"),
        ("tracking", "0005_replace_weak_device_ids"),
    ]

    operations = [
        migrations.CreateModel(
            name="FamilyLink",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("digest", models.CharField(editable=False, max_length=64, unique=True)),
                ("hint", models.CharField(editable=False, max_length=12)),
                ("label", models.CharField(blank=True, max_length=60)),
                ("created_at", models.DateTimeField()),
                ("expires_at", models.DateTimeField()),
                ("revoked_at", models.DateTimeField(blank=True, null=True)),
                (
                    "registration",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="family_links",
                        to="events.registration",
                    ),
                ),
            ],
            options={"ordering": ["-created_at"]},
        ),
    ]
