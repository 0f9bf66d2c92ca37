"""Strava's side of a connection: its backfill's progress and its queue of API calls."""

from __future__ import annotations

from django.db import models

from integrations.models.connections import Connection


class StravaSync(models.Model):
    """Where an athlete's Strava history import stands (their page shows it)."""

    connection = models.OneToOneField(Connection, on_delete=models.CASCADE, related_name="sync")
    # Pages are read "before" the moment of connecting, so activities arriving meanwhile
    # (webhooks bring those) do not shift the pages under the backfill.
    before = models.DateTimeField()
    # From the athlete's stats (runs + rides + swims): "about" since other sports are not
    # counted there.
    estimated_total = models.PositiveIntegerField(null=True, blank=True)
    imported = models.PositiveIntegerField(default=0)
    pages_done = models.PositiveIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Strava import of connection {self.connection_id}"


class JobKind(models.TextChoices):
    PAGE = "page", "Page of activities"
    ACTIVITY = "activity", "One activity"
    STREAMS = "streams", "Streams of an activity"


class JobPriority(models.IntegerChoices):
    """Smaller first. A new athlete's first pages and fresh webhook activities go before
    anyone's old backlog."""

    FRESH = 0, "New athlete's first pages, webhook events"
    FRESH_STREAMS = 1, "Streams of a new athlete's first pages"
    BACKLOG = 2, "Older pages"
    BACKLOG_STREAMS = 3, "Streams of older activities"


class StravaJob(models.Model):
    """One Strava API call to make when the shared quota allows. Kept in the database, not
    as a delayed Celery task: a backlog of thousands waits here for days without a broker
    redelivering anything; the drain task claims jobs in priority order."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="jobs")
    kind = models.CharField(max_length=8, choices=JobKind.choices)
    page = models.PositiveIntegerField(default=0)
    strava_id = models.BigIntegerField(default=0)  # the activity's, for ACTIVITY and STREAMS
    priority = models.PositiveSmallIntegerField(choices=JobPriority.choices)
    # A claimed job is another worker's until then; past it (a worker died) anyone's.
    claimed_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "kind", "page", "strava_id"], name="one_job_per_call"
            )
        ]
        indexes = [models.Index(fields=["priority", "id"], name="strava_job_order")]

    def __str__(self) -> str:
        return f"{self.kind} {self.page or self.strava_id} of connection {self.connection_id}"


class StravaSubscription(models.Model):
    """The application's one webhook subscription (``manage.py strava_subscription``):
    events naming another subscription id are refused."""

    subscription_id = models.BigIntegerField(unique=True)
    callback_url = models.URLField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Strava subscription {self.subscription_id}"
