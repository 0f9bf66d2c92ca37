from __future__ import annotations

from django.apps import AppConfig


class TrackingConfig(AppConfig):
    name = "tracking"
    verbose_name = "Live tracking"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_delete, post_save

        from events import entry_panels, race_pages
        from events.models import Membership
        from events.signals import registration_transferred
        from tracking.control.access import on_membership_changed, on_user_saved
        from tracking.control.links import control_admin_link
        from tracking.control.mail import on_alert_raised, on_sos_raised
        from tracking.ingest.trackers import on_registration_transferred
        from tracking.signals import alert_raised, sos_raised
        from tracking.web.embed import embed_snippet
        from tracking.web.family import entry_family_panel
        from tracking.web.links import live_links, replay_links

        registration_transferred.connect(on_registration_transferred, dispatch_uid="tracking")
        race_pages.register("tracking.live", live_links)
        race_pages.register("tracking.replay", replay_links)
        entry_panels.register("tracking.family", entry_family_panel)
        race_pages.register_snippet("tracking.embed", embed_snippet)
        alert_raised.connect(on_alert_raised, dispatch_uid="tracking.control.alerts")
        sos_raised.connect(on_sos_raised, dispatch_uid="tracking.control.sos")
        race_pages.register_admin_link("tracking.control", control_admin_link)
        import tracking.web.replaytasks  # noqa: F401  (registers the replay's tasks)

        # Race control's open screens check again who may watch (4403 when no longer).
        for signal in (post_save, post_delete):
            signal.connect(on_membership_changed, sender=Membership, dispatch_uid="control.member")
        post_save.connect(on_user_saved, sender=get_user_model(), dispatch_uid="control.user")
