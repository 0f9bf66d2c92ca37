"""Who may open race control: members of the race's organizer (any role that edits:
owners, admins, staff) and platform staff. Everyone else is told the race does not
exist (404), as the admin's scoping does.

Who may is checked again while a screen is open: a member removed from the organizer (or
whose role no longer edits, or whose account is deactivated) must not keep watching the
race's SOS calls and phone numbers. A change of membership or account tells that user's
screens at once (``control_user_group``, after commit); every screen also checks again
every ``RECHECK_SECONDS`` (``ControlConsumer``), for changes made behind the signals'
back (a queryset ``update``)."""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth import get_user_model
from django.db import transaction

from events.access import EDIT_ROLES, has_role_for
from events.models import Membership, Race

CONTROL_ROLES = EDIT_ROLES
RECHECK_SECONDS = 60.0


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


def may_still_control(*, race_id: int, user_id: int) -> bool:
    """``may_control`` read afresh: the user's account and memberships as stored now (the
    socket's own user object remembers the roles it had when it connected)."""
    user = get_user_model().objects.filter(pk=user_id).first()
    return control_race_by_id(race_id=race_id, user=user) is not None


def control_user_group(user_id: int) -> str:
    """One user's race-control screens (every race), told to check again who may watch."""
    return f"control.user.{user_id}"


def control_recheck_on_commit(user_id: int) -> None:
    """After commit, ask the user's open race-control screens to check their access."""

    def send() -> None:
        message = {"type": "control.recheck"}
        async_to_sync(get_channel_layer().group_send)(control_user_group(user_id), message)

    transaction.on_commit(send, robust=True)


def on_membership_changed(sender: Any, instance: Membership, **kwargs: Any) -> None:
    """``post_save``/``post_delete`` of a ``Membership``: a removed member or a changed
    role may no longer watch race control."""
    control_recheck_on_commit(instance.user_id)


def on_user_saved(sender: Any, instance: Any, created: bool = False, **kwargs: Any) -> None:
    """``post_save`` of a user: a deactivated account (or platform staff no longer). Not
    a login (Django saves ``last_login`` alone), which changes nothing of that."""
    fields = kwargs.get("update_fields")
    if not created and not (fields and set(fields) <= {"last_login"}):
        control_recheck_on_commit(instance.pk)
