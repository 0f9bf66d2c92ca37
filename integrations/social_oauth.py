"""What every provider connected through allauth shares: pointing allauth's adapter at
settings' URLs, and copying the tokens of the login in flight into a TokenSet."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from typing import Any

from django.http import HttpRequest

from integrations.tokens import TokenSet


def point_adapter_at(
    adapter: type[Any],
    *,
    access_token_url: Callable[[], str],
    authorize_url: Callable[[], str],
    profile_url: Callable[[], str],
) -> None:
    """Point an allauth OAuth2 adapter at URLs read from settings when used (a local fake
    in tests), so that settings changed later (tests) count."""
    adapter.access_token_url = property(lambda self: access_token_url())
    adapter.authorize_url = property(lambda self: authorize_url())
    adapter.profile_url = property(lambda self: profile_url())


def sociallogin_tokens(sociallogin: Any) -> TokenSet:
    """The tokens of an allauth login in flight, their expiry made aware (UTC)."""
    token = sociallogin.token
    expires_at = token.expires_at
    if expires_at is not None and expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=UTC)
    return TokenSet(token.token, token.token_secret, expires_at)


def on_provider_login(
    provider: str, connected: Callable[[HttpRequest, Any, TokenSet], None]
) -> None:
    """Call ``connected(request, sociallogin, tokens)`` when an account of ``provider`` is
    added or updated with tokens."""
    from allauth.socialaccount.signals import social_account_added, social_account_updated

    def receiver(request: HttpRequest, sociallogin: Any, **kwargs: Any) -> None:
        if sociallogin.account.provider != provider or sociallogin.token is None:
            return
        connected(request, sociallogin, sociallogin_tokens(sociallogin))

    social_account_added.connect(receiver, weak=False, dispatch_uid=f"pace-{provider}-added")
    social_account_updated.connect(receiver, weak=False, dispatch_uid=f"pace-{provider}-updated")
