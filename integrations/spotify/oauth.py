"""Connecting Spotify through allauth's provider (Authorization Code with PKCE), keeping
Pace's own sealed copy of the tokens (integrations.music.spotify_connected)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from integrations.social_oauth import on_provider_login, point_adapter_at
from integrations.tokens import TokenSet


def configure_allauth_adapter() -> None:
    """Point allauth's Spotify adapter at settings' Spotify (a local fake in tests)."""
    from allauth.socialaccount.providers.spotify.views import SpotifyOAuth2Adapter

    point_adapter_at(
        SpotifyOAuth2Adapter,
        access_token_url=lambda: f"{settings.SPOTIFY_ACCOUNTS_URL}/api/token",
        authorize_url=lambda: f"{settings.SPOTIFY_ACCOUNTS_URL}/authorize",
        profile_url=lambda: f"{settings.SPOTIFY_API_URL}/v1/me",
    )


def _connected(request: HttpRequest, sociallogin: Any, tokens: TokenSet) -> None:
    from integrations.music import spotify_connected

    extra = sociallogin.account.extra_data or {}
    spotify_connected(
        user=sociallogin.user,
        spotify_user_id=str(sociallogin.account.uid),
        display_name=str(extra.get("display_name") or sociallogin.account.uid)[:255],
        tokens=tokens,
        scopes="user-read-recently-played",
    )


def connect_signals() -> None:
    on_provider_login("spotify", _connected)
