"""What an athlete listened to (Spotify, Last.fm), stored once per play."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models


class PlaySource(models.TextChoices):
    SPOTIFY = "spotify", "Spotify"
    LASTFM = "lastfm", "Last.fm"


class Play(models.Model):
    """One play of one track. ``played_at`` is the source's own timestamp (Spotify's is
    when the play ended, Last.fm's when it started) and makes a play unique, so polling
    twice stores it once; ``started_at`` is when it started, which the correlation uses."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="plays"
    )
    source = models.CharField(max_length=8, choices=PlaySource.choices)
    track = models.CharField(max_length=300)
    artist = models.CharField(max_length=300, blank=True)
    album = models.CharField(max_length=300, blank=True)
    played_at = models.DateTimeField()
    started_at = models.DateTimeField()
    # Milliseconds; null when the source gives none (Last.fm's recent tracks).
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    # Spotify's track id, Last.fm's MusicBrainz id (often empty).
    external_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "source", "played_at"], name="one_play_per_source_time"
            )
        ]
        indexes = [models.Index(fields=["user", "started_at"])]
        ordering = ["started_at"]

    def __str__(self) -> str:
        return f"{self.track} by {self.artist} at {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def duration(self) -> dt.timedelta | None:
        return None if self.duration_ms is None else dt.timedelta(milliseconds=self.duration_ms)
