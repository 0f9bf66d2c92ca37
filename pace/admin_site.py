"""The admin site: the organizer back office and the platform staff's console."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from events.access import can_enter_back_office, scope_to_user
from pace.lib.changelist import CheckedChangeListAdmin


class PaceAdminSite(admin.AdminSite):
    site_header = "Pace back office"
    site_title = "Pace back office"
    index_title = "Your events"
    # The index links members to their registrations dashboard.
    index_template = "admin/events/index.html"

    def has_permission(self, request: HttpRequest) -> bool:
        """Platform staff and members of an organizer may enter; nobody else."""
        return can_enter_back_office(request.user)

    def login(self, request: HttpRequest, extra_context: object = None) -> HttpResponse:
        """One sign-in for everyone: the site's e-mail login, then back to the admin."""
        if request.user.is_authenticated:
            # Signed in but no organizer: sending them to the login again would loop.
            messages.info(request, "The back office is for organizers: create one to list events.")
            return redirect("events:organizer_signup")
        target = request.GET.get(REDIRECT_FIELD_NAME) or reverse("admin:index")
        query = urlencode({REDIRECT_FIELD_NAME: target})
        return redirect(f"{reverse('account_login')}?{query}")

    def register(self, model_or_iterable: Any, admin_class: Any = None, **options: Any) -> None:
        """Every change list, Pace's and other apps', refuses URL filters and selected ids it
        cannot run (``CheckedChangeListAdmin``) instead of failing with a 500."""
        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, CheckedChangeListAdmin):
            bases = (CheckedChangeListAdmin, admin_class)
            admin_class = type(admin_class.__name__, bases, {"__module__": admin_class.__module__})
        super().register(model_or_iterable, admin_class, **options)

    def get_urls(self) -> list[Any]:
        """Django's "view on site" shortcut, but only for objects the user may see."""
        urls = super().get_urls()
        for pattern in urls:
            if getattr(pattern, "name", None) == "view_on_site":
                pattern.callback = self.admin_view(_scoped_view_on_site)
        return urls


def _scoped_view_on_site(request: HttpRequest, content_type_id: int, object_id: str) -> Any:
    from django.contrib.contenttypes.models import ContentType
    from django.contrib.contenttypes.views import shortcut
    from django.core.exceptions import ValidationError
    from django.http import Http404

    try:
        model = ContentType.objects.get_for_id(content_type_id).model_class()
    except (ContentType.DoesNotExist, ValueError) as exc:
        # The path's id is typed by hand: no such type is a 404, as Django's shortcut says.
        raise Http404("No such content type") from exc
    if model is not None and hasattr(model, "ORGANIZER_PATH"):
        visible = scope_to_user(model._default_manager.all(), request.user)
        try:
            found = visible.filter(pk=object_id).exists()
        except (ValueError, ValidationError):
            found = False
        if not found:
            raise Http404("No such object")
    return shortcut(request, content_type_id, object_id)
