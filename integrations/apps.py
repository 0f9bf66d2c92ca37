from __future__ import annotations

from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations"

    def ready(self) -> None:
        from integrations import checks  # noqa: F401  (registers the system checks)
        from integrations.strava import oauth
        from integrations.strava.backfill import strava_refresher
        from integrations.tokens import register_refresher

        oauth.configure_allauth_adapter()
        oauth.connect_signals()
        register_refresher("strava", strava_refresher)

        from integrations import music_setup

        music_setup.ready()  # Spotify, Last.fm, uploads, retention, export and deletion
