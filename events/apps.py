from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class EventsConfig(AppConfig):
    name = "events"
    verbose_name = "Events"

    def ready(self) -> None:
        from events import models
        from pace.lib.pagecache import bump_public_version

        # Any saved change to what public pages show retires the cached pages.
        for model in (
            models.Organizer,
            models.Event,
            models.Race,
            models.Course,
            models.SplitPoint,
            models.RaceCategory,
        ):
            post_save.connect(bump_public_version, sender=model, dispatch_uid=f"pages-{model}")
            post_delete.connect(bump_public_version, sender=model, dispatch_uid=f"pages-{model}-d")
