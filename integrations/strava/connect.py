"""What happens when an athlete connects Strava: their sealed tokens, then the backfill."""

from __future__ import annotations

from typing import Any

from integrations.tokens import TokenSet


def strava_connected(
    *, user: Any, athlete_id: str, display_name: str, tokens: TokenSet, scopes: str
) -> None:
    """Store the connection and start the import (filled in by the backfill commit)."""
