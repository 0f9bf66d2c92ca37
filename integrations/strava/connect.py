"""Connecting and disconnecting Strava: the sealed tokens, the backfill, the clean-up."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from integrations.models import Activity, ActivitySource, Connection, Provider
from integrations.strava.backfill import kick, start_backfill
from integrations.strava.client import StravaClient, StravaError
from integrations.strava.quota import QuotaSpentError
from integrations.tokens import ConnectionBrokenError, TokenSet, get_access_token, store_tokens
from pace.lib.clock import SYSTEM, Clock

logger = logging.getLogger(__name__)


def strava_connected(
    *,
    user: Any,
    athlete_id: str,
    display_name: str,
    tokens: TokenSet,
    scopes: str,
    client: StravaClient | None = None,
    clock: Clock = SYSTEM,
) -> Connection:
    """Keep the athlete's tokens (sealed) and, on a first connect, start the import."""
    client = client or StravaClient(clock=clock)
    with transaction.atomic():
        connection, created = Connection.objects.select_for_update().get_or_create(
            user=user,
            provider=Provider.STRAVA,
            defaults={"external_id": athlete_id, "display_name": display_name, "scopes": scopes},
        )
        if not created and connection.external_id != athlete_id:
            # Another Strava athlete on the same Pace account: the old one's data goes.
            delete_strava_data(connection, keep_uid=athlete_id)
            return strava_connected(
                user=user, athlete_id=athlete_id, display_name=display_name,
                tokens=tokens, scopes=scopes, client=client, clock=clock,
            )  # fmt: skip
        connection.display_name = display_name or connection.display_name
        connection.scopes = scopes or connection.scopes
        connection.save(update_fields=["display_name", "scopes", "updated_at"])
        store_tokens(connection, tokens)
    if not hasattr(connection, "sync"):
        start_backfill(connection, client=client, clock=clock)
    else:
        kick()  # a reconnect after a break: what was queued goes on
    return connection


def delete_strava_data(connection: Connection, *, keep_uid: str | None = None) -> None:
    """Everything Pace imported from this Strava connection, and the connection itself
    (``keep_uid``: the allauth account of the athlete connecting instead stays)."""
    from allauth.socialaccount.models import SocialAccount

    with transaction.atomic():
        Activity.objects.filter(user_id=connection.user_id, source=ActivitySource.STRAVA).delete()
        accounts = SocialAccount.objects.filter(user_id=connection.user_id, provider="strava")
        accounts.exclude(uid=keep_uid or "").delete()
        connection.delete()


def disconnect_strava(
    connection: Connection, *, client: StravaClient | None = None, clock: Clock = SYSTEM
) -> bool:
    """Revoke Pace's access at Strava, then delete what Pace imported. Returns whether
    Strava confirmed the revocation (the local data goes either way)."""
    client = client or StravaClient(clock=clock)
    revoked = False
    try:
        client.deauthorize(get_access_token(connection, clock=clock))
        revoked = True
    except (ConnectionBrokenError, StravaError, QuotaSpentError) as exc:
        # A broken connection was already revoked at Strava's end.
        logger.warning("Strava deauthorize of connection %s failed: %s", connection.pk, exc)
    delete_strava_data(connection)
    return revoked
