"""Connecting Strava through allauth's provider, keeping Pace's own sealed copy of the tokens.

allauth runs the OAuth dance and keeps the SocialAccount (uid, profile); with
SOCIALACCOUNT_STORE_TOKENS off it stores no token. The tokens of the login in flight are
copied here, sealed, into the athlete's Connection, and the backfill starts.
"""

from __future__ import annotations

import logging
from datetime import UTC
from typing import Any

from django.conf import settings
from django.http import HttpRequest

logger = logging.getLogger(__name__)


def configure_allauth_adapter() -> None:
    """Point allauth's Strava adapter at settings' Strava (a local fake in tests), read
    when used so that settings changed later (tests) count."""
    from allauth.socialaccount.providers.strava.views import StravaOAuth2Adapter

    StravaOAuth2Adapter.access_token_url = property(
        lambda self: f"{settings.STRAVA_OAUTH_URL}/token"
    )
    StravaOAuth2Adapter.authorize_url = property(
        lambda self: f"{settings.STRAVA_OAUTH_URL}/authorize"
    )
    StravaOAuth2Adapter.profile_url = property(lambda self: f"{settings.STRAVA_API_URL}/athlete")


def _on_social_account(request: HttpRequest, sociallogin: Any, **kwargs: Any) -> None:
    if sociallogin.account.provider != "strava" or sociallogin.token is None:
        return
    from integrations.strava.connect import strava_connected
    from integrations.tokens import TokenSet

    token = sociallogin.token
    expires_at = token.expires_at
    if expires_at is not None and expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=UTC)
    extra = sociallogin.account.extra_data or {}
    name = " ".join(p for p in (extra.get("firstname"), extra.get("lastname")) if p)
    strava_connected(
        user=sociallogin.user,
        athlete_id=str(sociallogin.account.uid),
        display_name=name,
        tokens=TokenSet(token.token, token.token_secret, expires_at),
        scopes=request.GET.get("scope", ""),
    )


def connect_signals() -> None:
    from allauth.socialaccount.signals import social_account_added, social_account_updated

    social_account_added.connect(_on_social_account, dispatch_uid="pace-strava-added")
    social_account_updated.connect(_on_social_account, dispatch_uid="pace-strava-updated")
