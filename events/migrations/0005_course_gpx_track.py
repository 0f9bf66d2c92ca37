from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0004_registration_unverified_status"),
    ]

    operations = [
        migrations.AddField(
            model_name="course",
            name="gpx_track",
            field=models.PositiveSmallIntegerField(
                default=0, help_text="Which track or route of the GPX file is the course."
            ),
        ),
    ]
