from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("results", "0002_timing_tokens"),
    ]

    operations = [
        migrations.AddField(
            model_name="resultspublication",
            name="setup_version",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
    ]
