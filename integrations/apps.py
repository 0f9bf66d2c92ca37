from __future__ import annotations

from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations"

    def ready(self) -> None:
        # Each provider's allauth wiring and token refresher; personal data's export and deletion.
        import integrations.checks  # noqa: F401  (registers the system checks)
        from integrations import personal_data
        from integrations.music import spotify_refresher
        from integrations.spotify import oauth as spotify_oauth
        from integrations.strava import oauth as strava_oauth
        from integrations.strava.backfill import strava_refresher
        from integrations.tokens import register_refresher

        strava_oauth.configure_allauth_adapter()
        strava_oauth.connect_signals()
        register_refresher("strava", strava_refresher)
        spotify_oauth.configure_allauth_adapter()
        spotify_oauth.connect_signals()
        register_refresher("spotify", spotify_refresher)
        personal_data.register_parts()
