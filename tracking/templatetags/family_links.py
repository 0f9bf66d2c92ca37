"""``{% family_link_panel reg token %}``: the "Share with family" block of the tracker page."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString

from events.models import Registration
from tracking.web.family import family_panel

register = template.Library()


@register.simple_tag(takes_context=True)
def family_link_panel(context: Any, registration: Registration, token: str = "") -> SafeString:
    return family_panel(request=context["request"], registration=registration, token=token)
