"""Making, revoking and checking the per-race tokens of ``POST /timing/reads/``."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from events.models import Race
from results.models import TimingToken
from results.models.tokens import TOKEN_PREFIX, new_timing_token, token_digest

# A token as sent: the prefix and 43 URL-safe characters; anything far off is not looked up.
MAX_TOKEN_CHARS = 100


def timing_token_issue(token: TimingToken, *, actor: Any) -> str:
    """Give an unsaved token its secret (kept only as a digest) and save it; the secret,
    shown once and never kept."""
    secret = new_timing_token()
    token.hint = secret[: len(TOKEN_PREFIX) + 6]
    token.digest = token_digest(secret)
    token.created_by = actor if getattr(actor, "pk", None) else None
    token.save()
    return secret


def timing_token_create(*, race: Race, name: str, actor: Any) -> tuple[TimingToken, str]:
    """A new token of ``race`` and its secret."""
    token = TimingToken(race=race, name=name)
    return token, timing_token_issue(token, actor=actor)


def timing_token_revoke(*, token: TimingToken) -> bool:
    """Revoke ``token`` at once; whether it was live."""
    return bool(
        TimingToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
    )


def timing_token_find(secret: str) -> TimingToken | None:
    """The live token ``secret`` names, with its race and event; None for any other text."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > MAX_TOKEN_CHARS:
        return None
    token = (
        TimingToken.objects.select_related("race__event")
        .filter(digest=token_digest(secret), revoked_at__isnull=True)
        .first()
    )
    if token is not None:
        TimingToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token
