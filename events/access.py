"""Who may see and change which organizer's data: the one place that decides.

Platform staff (``is_staff``) see everything. Members of an organizer see only
that organizer's objects; their role decides what they may change. Models name
the path to their organizer in ``ORGANIZER_PATH``.

A user holds one role per organizer, and different roles at different
organizers (staff of one, owner of the one they started). So a permission that
depends on a role is always asked of the organizer of the object it acts on:
``has_role_for(user, obj, roles)``, or ``scope_to_user(queryset, user, roles)``
for many objects at once. "Some role at any organizer" (``obj=None``) only
decides whether a menu entry or a button shows, never whether an act is allowed.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Model, QuerySet

from events.models import Membership

_M = TypeVar("_M", bound=Model)

Role = Membership.Role
EDIT_ROLES = frozenset({Role.OWNER, Role.ADMIN, Role.STAFF})
MANAGE_ROLES = frozenset({Role.OWNER, Role.ADMIN})

_CACHE_ATTR = "_pace_roles"


def is_platform_staff(user: Any) -> bool:
    return bool(user.is_active and (user.is_staff or user.is_superuser))


def roles_of(user: Any) -> dict[int, str]:
    """``{organizer_id: role}`` for a user, cached on the user object for one request."""
    if not user.is_authenticated or not user.is_active:
        return {}
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is None:
        cached = dict(Membership.objects.filter(user=user).values_list("organizer_id", "role"))
        setattr(user, _CACHE_ATTR, cached)
    return cached


def can_enter_back_office(user: Any) -> bool:
    return is_platform_staff(user) or bool(roles_of(user))


def organizer_ids(user: Any, roles: frozenset[str] = EDIT_ROLES) -> list[int]:
    return [org_id for org_id, role in roles_of(user).items() if role in roles]


def scope_to_user(
    queryset: QuerySet[_M], user: Any, roles: frozenset[str] = EDIT_ROLES
) -> QuerySet[_M]:
    """Limit a queryset of an organizer-owned model to the objects of organizers where
    ``user`` holds one of ``roles`` (by default: what they may see)."""
    if is_platform_staff(user):
        return queryset
    # Every organizer-owned model declares ORGANIZER_PATH (Model does not).
    path = queryset.model.ORGANIZER_PATH  # type: ignore[attr-defined]
    lookup = f"{path}__in" if path else "pk__in"
    return queryset.filter(**{lookup: organizer_ids(user, roles)})


def organizer_id_of(obj: Model) -> int | None:
    """Follow ``ORGANIZER_PATH`` from an object to its organizer's id."""
    # Every organizer-owned model declares ORGANIZER_PATH (Model does not).
    path = type(obj).ORGANIZER_PATH  # type: ignore[attr-defined]
    if not path:  # an Organizer: its own id
        own_id: int | None = obj.pk
        return own_id
    *hops, last = path.split("__")
    target: Any = obj
    for hop in hops:
        target = getattr(target, hop, None)
        if target is None:
            return None
    return getattr(target, f"{last}_id", None)


def has_role_for(user: Any, obj: Model | None, roles: frozenset[str]) -> bool:
    """May ``user`` act with one of ``roles`` on ``obj``?

    With ``obj=None`` the answer is "at some organizer": only for menus and buttons.
    """
    if is_platform_staff(user):
        return True
    mine = roles_of(user)
    if obj is None:
        return any(role in roles for role in mine.values())
    organizer_id = organizer_id_of(obj)
    return organizer_id is not None and mine.get(organizer_id, "") in roles
