from __future__ import annotations

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class PaceConfig(AppConfig):
    default = True
    name = "pace"
    verbose_name = "Pace"


class PaceAdminConfig(admin_apps.AdminConfig):
    default = False
    """Uses Pace's admin site, which lets organizer members into /admin/."""

    default_site = "pace.admin_site.PaceAdminSite"
