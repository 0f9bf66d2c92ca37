"""Wiring of the music, uploads and personal-data parts, called from IntegrationsConfig.ready."""

from __future__ import annotations


def ready() -> None:
    from integrations import personal_data
    from integrations.music import spotify_refresher
    from integrations.spotify import oauth
    from integrations.tokens import register_refresher

    oauth.configure_allauth_adapter()
    oauth.connect_signals()
    register_refresher("spotify", spotify_refresher)
    personal_data.register_parts()
