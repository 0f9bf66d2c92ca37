"""Connecting Spotify through allauth's provider (Authorization Code with PKCE), keeping
Pace's own sealed copy of the tokens (integrations.music.spotify_connected)."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from django.conf import settings
from django.http import HttpRequest


def configure_allauth_adapter() -> None:
    """Point allauth's Spotify adapter at settings' Spotify (a local fake in tests), read
    when used so that settings changed later (tests) count."""
    from allauth.socialaccount.providers.spotify.views import SpotifyOAuth2Adapter

    SpotifyOAuth2Adapter.access_token_url = property(
        lambda self: f"{settings.SPOTIFY_ACCOUNTS_URL}/api/token"
    )
    SpotifyOAuth2Adapter.authorize_url = property(
        lambda self: f"{settings.SPOTIFY_ACCOUNTS_URL}/authorize"
    )
    SpotifyOAuth2Adapter.profile_url = property(lambda self: f"{settings.SPOTIFY_API_URL}/v1/me")


def _on_social_account(request: HttpRequest, sociallogin: Any, **kwargs: Any) -> None:
    if sociallogin.account.provider != "spotify" or sociallogin.token is None:
        return
    from integrations.music import spotify_connected
    from integrations.tokens import TokenSet

    token = sociallogin.token
    expires_at = token.expires_at
    if expires_at is not None and expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=UTC)
    extra = sociallogin.account.extra_data or {}
    spotify_connected(
        user=sociallogin.user,
        spotify_user_id=str(sociallogin.account.uid),
        display_name=str(extra.get("display_name") or sociallogin.account.uid)[:255],
        tokens=TokenSet(token.token, token.token_secret, expires_at),
        scopes="user-read-recently-played",
    )


def connect_signals() -> None:
    from allauth.socialaccount.signals import social_account_added, social_account_updated

    social_account_added.connect(_on_social_account, dispatch_uid="pace-spotify-added")
    social_account_updated.connect(_on_social_account, dispatch_uid="pace-spotify-updated")
