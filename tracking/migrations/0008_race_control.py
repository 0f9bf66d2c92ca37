# Race control: a race's safety settings, race control's DNFs, and the admin's race proxy.

import django.core.validators
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0007_event_previous_edition"),
        ("tracking", "0007_sos_call_race_message"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="RaceControl",
            fields=[],
            options={
                "verbose_name": "race control",
                "verbose_name_plural": "race control",
                "proxy": True,
                "indexes": [],
                "constraints": [],
            },
            bases=("events.race",),
        ),
        migrations.CreateModel(
            name="RaceSafety",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "off_course_m",
                    models.PositiveIntegerField(
                        default=150,
                        help_text="Further than this from the course is off course (race "
                        "control and spectators).",
                        validators=[django.core.validators.MinValueValidator(1)],
                        verbose_name="off course after (metres)",
                    ),
                ),
                (
                    "stopped_minutes",
                    models.PositiveIntegerField(
                        default=10,
                        validators=[django.core.validators.MinValueValidator(1)],
                        verbose_name="stopped too long after (minutes)",
                    ),
                ),
                (
                    "lost_minutes",
                    models.PositiveIntegerField(
                        default=5,
                        validators=[django.core.validators.MinValueValidator(1)],
                        verbose_name="lost signal after (minutes)",
                    ),
                ),
                (
                    "contacts",
                    models.TextField(
                        blank=True,
                        help_text="E-mail addresses, one a line: they get an e-mail when an "
                        "athlete goes off course or presses SOS (once per incident).",
                        verbose_name="safety contacts",
                    ),
                ),
                (
                    "race",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="safety",
                        to="events.race",
                    ),
                ),
            ],
            options={
                "verbose_name": "safety settings",
                "verbose_name_plural": "safety settings",
            },
        ),
        migrations.CreateModel(
            name="Withdrawal",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("reason", models.CharField(blank=True, max_length=200)),
                ("at", models.DateTimeField()),
                (
                    "by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "race",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="events.race",
                    ),
                ),
                (
                    "registration",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="withdrawal",
                        to="events.registration",
                    ),
                ),
            ],
            options={
                "ordering": ["-at"],
            },
        ),
    ]
