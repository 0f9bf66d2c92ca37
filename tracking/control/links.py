"""Race control's link on the race's admin page and list (``events.race_pages``)."""

from __future__ import annotations

from django.urls import reverse

from events.models import Race


def control_admin_link(race: Race) -> tuple[str, str]:
    return "Race control", reverse("tracking:control", args=[race.event.slug, race.slug])
