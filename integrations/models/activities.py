"""Workouts an athlete brought to Pace (from Strava or an uploaded file) and their streams."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from events.localtime import zone_named


class ActivitySource(models.TextChoices):
    STRAVA = "strava", "Strava"
    UPLOAD = "upload", "Uploaded file"


class Activity(models.Model):
    """One workout's summary. ``start``/``end`` are UTC and indexed, so "which activities
    overlap this window" (a song played, a race's day) is one indexed query."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="activities"
    )
    source = models.CharField(max_length=8, choices=ActivitySource.choices)
    # Strava's activity id; for an upload, the file's SHA-256 (the same file stored once).
    external_id = models.CharField(max_length=128)
    sport = models.CharField(max_length=64, blank=True)  # Strava's sport_type ("Run", "Ride"...)
    name = models.CharField(max_length=255, blank=True)
    start = models.DateTimeField()
    end = models.DateTimeField()  # start + elapsed_time
    elapsed_time = models.PositiveIntegerField(default=0)  # seconds
    moving_time = models.PositiveIntegerField(default=0)  # seconds
    distance = models.FloatField(default=0.0)  # metres
    # The rest of the source's summary (elevation gain, average heart rate, polyline,
    # timezone...): shown, never queried.
    summary = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "source", "external_id"], name="one_activity_per_source_id"
            )
        ]
        indexes = [models.Index(fields=["user", "start"]), models.Index(fields=["user", "end"])]
        ordering = ["-start"]
        verbose_name_plural = "activities"

    def __str__(self) -> str:
        return f"{self.name or self.sport} {self.start:%Y-%m-%d}"

    @property
    def zone(self) -> str:
        """The time zone it was recorded in, for showing its times: Strava's ``timezone``
        ("(GMT+01:00) Europe/Paris"), else UTC (an uploaded file says none)."""
        name = str(self.summary.get("timezone") or "").rpartition(") ")[2].strip()
        return name if zone_named(name) is not None else "UTC"


class ActivityStream(models.Model):
    """An activity's samples, one row per activity, each channel a JSON array of the same
    length as ``time`` (seconds from the activity's start; a missing channel is null).

    One row per activity, not per sample: every query the app makes reads one activity's
    samples (a map, the stretch a song played over), and 3,000 activities of an hour at
    1 Hz would be ten million rows per athlete. An hour is ~3,600 samples (~150 KB of JSON).
    Raw samples are kept ``INTEGRATIONS_RAW_STREAM_DAYS``; then the retention task
    replaces them with one sample per ``resolution`` seconds and sets ``downsampled_at``.
    """

    activity = models.OneToOneField(Activity, on_delete=models.CASCADE, related_name="stream")
    time = models.JSONField(default=list)  # [int seconds from start]
    latlng = models.JSONField(null=True, blank=True)  # [[lat, lon]]
    altitude = models.JSONField(null=True, blank=True)  # [metres]
    heartrate = models.JSONField(null=True, blank=True)  # [bpm]
    cadence = models.JSONField(null=True, blank=True)  # [rpm, steps per minute / 2 for runs]
    velocity = models.JSONField(null=True, blank=True)  # [m/s, smoothed]
    samples = models.PositiveIntegerField(default=0)
    resolution = models.PositiveIntegerField(default=0)  # seconds per sample; 0: raw
    downsampled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    CHANNELS = ("time", "latlng", "altitude", "heartrate", "cadence", "velocity")

    def __str__(self) -> str:
        return f"stream of activity {self.activity_id} ({self.samples} samples)"
