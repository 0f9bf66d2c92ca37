"""Connecting Strava through allauth's provider, keeping Pace's own sealed copy of the tokens.

allauth runs the OAuth dance and keeps the SocialAccount (uid, profile); with
SOCIALACCOUNT_STORE_TOKENS off it stores no token. The tokens of the login in flight are
copied here, sealed, into the athlete's Connection, and the backfill starts.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from integrations.social_oauth import on_provider_login, point_adapter_at
from integrations.tokens import TokenSet

logger = logging.getLogger(__name__)


def configure_allauth_adapter() -> None:
    """Point allauth's Strava adapter at settings' Strava (a local fake in tests)."""
    from allauth.socialaccount.providers.strava.views import StravaOAuth2Adapter

    point_adapter_at(
        StravaOAuth2Adapter,
        access_token_url=lambda: f"{settings.STRAVA_OAUTH_URL}/token",
        authorize_url=lambda: f"{settings.STRAVA_OAUTH_URL}/authorize",
        profile_url=lambda: f"{settings.STRAVA_API_URL}/athlete",
    )


def _connected(request: HttpRequest, sociallogin: Any, tokens: TokenSet) -> None:
    from integrations.strava.connect import strava_connected

    extra = sociallogin.account.extra_data or {}
    name = " ".join(p for p in (extra.get("firstname"), extra.get("lastname")) if p)
    strava_connected(
        user=sociallogin.user,
        athlete_id=str(sociallogin.account.uid),
        display_name=name,
        tokens=tokens,
        scopes=request.GET.get("scope", ""),
    )


def connect_signals() -> None:
    on_provider_login("strava", _connected)
