"""allauth's social account adapter: providers connect to an existing Pace account only."""

from __future__ import annotations

from typing import Any

from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp
from django.http import Http404, HttpRequest


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def get_app(self, request: HttpRequest, provider: str, client_id: str | None = None) -> Any:
        """A provider whose keys are not set is not there (404), not a server error."""
        try:
            return super().get_app(request, provider, client_id=client_id)
        except SocialApp.DoesNotExist as exc:
            raise Http404(f"{provider} is not set up on this Pace") from exc

    def is_open_for_signup(self, request: HttpRequest, sociallogin: Any) -> bool:
        # Strava gives no e-mail address: an account is made with e-mail first, then
        # connected (/integrations/).
        return False

    def get_connect_redirect_url(self, request: HttpRequest, socialaccount: Any) -> str:
        return "/integrations/"
