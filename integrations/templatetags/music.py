"""The Spotify and Last.fm cards of the connections page (``{% music_connections %}``)."""

from __future__ import annotations

from typing import Any

from django import template

from integrations.forms import LastfmForm
from integrations.selectors import music_connections as music_connections_read

register = template.Library()


@register.inclusion_tag("integrations/music_connections.html", takes_context=True)
def music_connections(context: dict[str, Any]) -> dict[str, Any]:
    request = context["request"]
    return {
        **music_connections_read(user=request.user),
        "lastfm_form": context.get("lastfm_form") or LastfmForm(),
        "csrf_token": context.get("csrf_token"),
        "request": request,
    }
