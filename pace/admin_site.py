"""The admin site: the organizer back office and the platform staff's console."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from events.access import can_enter_back_office


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
