"""Platform staff see connections (for support); tokens never appear (only their key id).

Activities, streams and plays are not in the admin at all: Strava's terms let an athlete's
Strava data be shown to that athlete only, and Pace treats every source's data the same."""

from __future__ import annotations

from typing import Any

from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken
from django.contrib import admin
from django.http import HttpRequest

from events.access import is_platform_staff
from integrations.models import Connection


class PlatformOnly(admin.ModelAdmin):
    """Athletes' own data: platform staff only, never an organizer's members."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_platform_staff(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_platform_staff(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # made by connecting, importing or uploading

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_platform_staff(request.user)


@admin.register(Connection)
class ConnectionAdmin(PlatformOnly):
    list_display = ["user", "provider", "external_id", "status", "expires_at", "token_key_id"]
    list_filter = ["provider", "status"]
    search_fields = ["user__email", "external_id"]
    # The sealed columns are not editable (editable=False) and so never on the form.
    readonly_fields = ["token_key_id", "expires_at", "created_at", "updated_at"]
    fields = [
        "user",
        "provider",
        "external_id",
        "display_name",
        "scopes",
        "status",
        "broken_reason",
        "token_key_id",
        "expires_at",
        "created_at",
        "updated_at",
    ]
    raw_id_fields = ["user"]


# allauth's own admin pages: apps are configured in settings (their secrets stay out of the
# admin) and Pace stores no allauth token (SOCIALACCOUNT_STORE_TOKENS off).
for _model in (SocialApp, SocialToken, SocialAccount):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
