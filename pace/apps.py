from __future__ import annotations

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class PaceConfig(AppConfig):
    default = True
    name = "pace"
    verbose_name = "Pace"

    def ready(self) -> None:
        from django.apps import apps
        from django.db.models.signals import post_migrate

        from pace.lib.textfold import install_folded_lookup
        from pace.sites import site_sync

        install_folded_lookup()
        # After the sites app's own receiver, which creates example.com on a new database.
        post_migrate.connect(
            site_sync, sender=apps.get_app_config("sites"), dispatch_uid="pace.site_sync"
        )


class PaceAdminConfig(admin_apps.AdminConfig):
    default = False
    """Uses Pace's admin site, which lets organizer members into /admin/."""

    default_site = "pace.admin_site.PaceAdminSite"
