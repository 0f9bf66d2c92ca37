"""Who may open race control: members of the race's organizer (any role that edits:
owners, admins, staff) and platform staff. Everyone else is told the race does not
exist (404), as the admin's scoping does."""

from __future__ import annotations

from typing import Any

from events.access import EDIT_ROLES, has_role_for
from events.models import Race

CONTROL_ROLES = EDIT_ROLES


def may_control(*, race: Race, user: Any) -> bool:
    return bool(
        user is not None and user.is_authenticated and has_role_for(user, race, CONTROL_ROLES)
    )


def control_race_by_slugs(*, event_slug: str, race_slug: str, user: Any) -> Race | None:
    """The race of a race-control URL, if this user may control it."""
    race = (
        Race.objects.select_related("event", "course")
        .filter(event__slug=event_slug, slug=race_slug)
        .first()
    )
    return race if race is not None and may_control(race=race, user=user) else None


def control_race_by_id(*, race_id: int, user: Any) -> Race | None:
    race = Race.objects.select_related("event").filter(pk=race_id).first()
    return race if race is not None and may_control(race=race, user=user) else None
