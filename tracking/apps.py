from __future__ import annotations

from django.apps import AppConfig


class TrackingConfig(AppConfig):
    name = "tracking"
    verbose_name = "Live tracking"

    def ready(self) -> None:
        from events import race_pages
        from events.signals import registration_transferred
        from tracking.ingest.trackers import on_registration_transferred
        from tracking.web.links import live_links

        registration_transferred.connect(on_registration_transferred, dispatch_uid="tracking")
        race_pages.register("tracking.live", live_links)
