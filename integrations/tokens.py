"""Access tokens that are fresh when used: each provider registers how it refreshes.

``get_access_token(connection)`` is what every caller uses. When the stored token expires
within ``REFRESH_MARGIN`` it refreshes, under a lock per connection shared by all workers
(Strava rotates refresh tokens: two concurrent refreshes would invalidate each other), and
stores the newest tokens. A refused refresh (revoked, invalid_grant) marks the connection
broken and raises ConnectionBrokenError.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from integrations.locking import shared_lock
from integrations.models import Connection, ConnectionStatus
from pace.lib import sealing
from pace.lib.clock import SYSTEM, Clock

logger = logging.getLogger(__name__)
REFRESH_MARGIN = timedelta(minutes=5)


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str
    expires_at: datetime | None

    def __repr__(self) -> str:  # never the tokens
        return f"TokenSet(expires_at={self.expires_at!r})"


class ConnectionBrokenError(Exception):
    """The provider refused the connection's tokens: the athlete must connect again."""


class TokenRefusedError(Exception):
    """Raised by a refresher when the provider refuses the refresh token for good."""


Refresher = Callable[[Connection, str], TokenSet]
"""Given a connection and its refresh token, the provider's new tokens (or TokenRefusedError)."""

_refreshers: dict[str, Refresher] = {}


def register_refresher(provider: str, refresher: Refresher) -> None:
    _refreshers[provider] = refresher


def now_of(clock: Clock) -> datetime:
    return datetime.fromtimestamp(clock.time(), tz=UTC)


def mark_broken(connection: Connection, *, reason: str) -> None:
    """Say on the athlete's page that this connection needs them to connect again."""
    logger.warning("connection %s broken: %s", connection.pk, reason)
    connection.status = ConnectionStatus.BROKEN
    connection.broken_reason = reason[:255]
    connection.save(update_fields=["status", "broken_reason", "updated_at"])


def store_tokens(connection: Connection, tokens: TokenSet) -> None:
    connection.set_tokens(
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token or connection.refresh_token(),
        expires_at=tokens.expires_at,
    )
    connection.status = ConnectionStatus.OK
    connection.broken_reason = ""
    connection.save(
        update_fields=[*Connection.TOKEN_FIELDS, "status", "broken_reason", "updated_at"]
    )


def _due(connection: Connection, now: datetime) -> bool:
    return connection.expires_at is not None and connection.expires_at - REFRESH_MARGIN <= now


def get_access_token(connection: Connection, *, clock: Clock = SYSTEM) -> str:
    """A usable access token of ``connection``, refreshed first when it is about to expire.

    Raises ConnectionBrokenError when the connection is broken or its refresh is refused, and
    lets a refresher's other errors (network, quota) through for the caller to retry."""
    if connection.is_broken:
        raise ConnectionBrokenError(connection.broken_reason)
    try:
        if not _due(connection, now_of(clock)):
            return connection.access_token()
        with shared_lock(f"token-refresh:{connection.pk}", ttl=60.0, wait=20.0):
            # Another worker may have refreshed while this one waited: read what it stored.
            connection.refresh_from_db()
            if connection.is_broken:
                raise ConnectionBrokenError(connection.broken_reason)
            if not _due(connection, now_of(clock)):
                return connection.access_token()
            try:
                tokens = _refreshers[connection.provider](connection, connection.refresh_token())
            except TokenRefusedError as exc:
                mark_broken(
                    connection, reason=f"{connection.get_provider_display()} refused: {exc}"
                )
                raise ConnectionBrokenError(str(exc)) from exc
            store_tokens(connection, tokens)
            return tokens.access_token
    except sealing.TokenDecryptError as exc:
        mark_broken(connection, reason="stored tokens no longer open (token key missing)")
        raise ConnectionBrokenError(str(exc)) from exc
