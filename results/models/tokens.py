"""Per-race timing tokens (``POST /timing/reads/``) and the race proxy the timing desk hangs on.

A token is shown once, when made, and stored only as its SHA-256: 256 random bits need no
slow hash, and a copy of the database lets nobody push reads.
"""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models

from events.models import Race

TOKEN_PREFIX = "pt_"


def new_timing_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", errors="replace")).hexdigest()


class TimingToken(models.Model):
    """What lets one decoder or timing app push reads into one race, until revoked."""

    ORGANIZER_PATH = "race__event__organizer"

    race = models.ForeignKey(Race, on_delete=models.CASCADE, related_name="timing_tokens")
    name = models.CharField(
        max_length=100, help_text="Which decoder or app uses it, e.g. “Finish decoder”."
    )
    # The token's first characters, to tell tokens apart in lists; the rest is never kept.
    hint = models.CharField(max_length=12, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["race", "-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.hint}…)"


class RaceTiming(Race):
    """A race as the timing desk sees it: its import, manual entry and tokens (admin only)."""

    class Meta:
        proxy = True
        verbose_name = "race timing"
        verbose_name_plural = "race timing"
