"""An athlete's link to a provider (Strava, Spotify, Last.fm) and its encrypted tokens."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models

from pace.lib import sealing


class Provider(models.TextChoices):
    STRAVA = "strava", "Strava"
    SPOTIFY = "spotify", "Spotify"
    LASTFM = "lastfm", "Last.fm"


class ConnectionStatus(models.TextChoices):
    OK = "ok", "Connected"
    BROKEN = "broken", "Needs reconnecting"


class Connection(models.Model):
    """One provider account of one athlete. Tokens are kept only sealed (pace.lib.sealing):
    read them with :meth:`access_token` / :meth:`refresh_token`, or better with
    ``integrations.tokens.get_access_token(connection)``, which refreshes when due. Last.fm
    has no tokens: ``external_id`` is the username."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="connections"
    )
    provider = models.CharField(max_length=16, choices=Provider.choices)
    # Strava's athlete id, Spotify's user id, the Last.fm username.
    external_id = models.CharField(max_length=255)
    display_name = models.CharField(max_length=255, blank=True)
    access_token_sealed = models.TextField(blank=True, editable=False)
    refresh_token_sealed = models.TextField(blank=True, editable=False)
    # The key that sealed both tokens (crypto's ciphertexts also name it): rotate_token_key
    # finds what an old key sealed without opening anything.
    token_key_id = models.CharField(max_length=32, blank=True, editable=False, db_index=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    scopes = models.CharField(max_length=255, blank=True)
    status = models.CharField(
        max_length=8, choices=ConnectionStatus.choices, default=ConnectionStatus.OK
    )
    broken_reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "provider"], name="one_connection_per_provider"
            ),
            # One Strava athlete (Spotify user) feeds one Pace account: webhooks name the
            # athlete, and must find one owner.
            models.UniqueConstraint(
                fields=["provider", "external_id"],
                condition=~models.Q(provider="lastfm"),
                name="one_owner_per_provider_account",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} of user {self.user_id}"

    def __repr__(self) -> str:  # the model's default shows __str__ only; keep it that way
        return f"<Connection {self.pk} {self.provider} user={self.user_id} {self.status}>"

    def _purpose(self, which: str) -> str:
        return f"{self.provider}:{which}"

    def set_tokens(
        self, *, access_token: str, refresh_token: str, expires_at: datetime | None
    ) -> None:
        """Seal and set both tokens (not saved: the caller saves, with update_fields)."""
        self.access_token_sealed = sealing.encrypt(access_token, purpose=self._purpose("access"))
        self.refresh_token_sealed = (
            sealing.encrypt(refresh_token, purpose=self._purpose("refresh"))
            if refresh_token
            else ""
        )
        self.token_key_id = sealing.current_key_id()
        self.expires_at = expires_at

    TOKEN_FIELDS = ("access_token_sealed", "refresh_token_sealed", "token_key_id", "expires_at")

    def access_token(self) -> str:
        """The access token as stored (maybe expired); raises sealing.TokenDecryptError."""
        if not self.access_token_sealed:
            return ""
        return sealing.decrypt(self.access_token_sealed, purpose=self._purpose("access"))

    def refresh_token(self) -> str:
        if not self.refresh_token_sealed:
            return ""
        return sealing.decrypt(self.refresh_token_sealed, purpose=self._purpose("refresh"))

    def reseal(self) -> bool:
        """Re-seal both tokens with the current key; True when anything changed."""
        if self.token_key_id == sealing.current_key_id():
            return False
        for field, which in (
            ("access_token_sealed", "access"),
            ("refresh_token_sealed", "refresh"),
        ):
            sealed = getattr(self, field)
            if sealed:
                setattr(self, field, sealing.reencrypt(sealed, purpose=self._purpose(which)))
        self.token_key_id = sealing.current_key_id()
        return True

    @property
    def is_broken(self) -> bool:
        return self.status == ConnectionStatus.BROKEN
