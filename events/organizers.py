"""Creating organizers and managing who belongs to them."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.text import slugify

from events.models import Membership, Organizer


def unique_slug(model: type[Any], text: str, *, field: str = "slug", max_length: int = 100) -> str:
    """A slug from ``text`` not yet used by ``model`` (``-2``, ``-3``... appended if needed)."""
    base = (slugify(text) or "item")[: max_length - 6]
    slug, n = base, 1
    while model._default_manager.filter(**{field: slug}).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def organizer_create(
    *, owner: Any, name: str, country: str, contact_email: str, website: str = ""
) -> Organizer:
    """Create an organizer with ``owner`` as its first member."""
    organizer = Organizer.objects.create(
        name=name,
        slug=unique_slug(Organizer, name),
        country=country,
        contact_email=contact_email,
        website=website,
    )
    membership_add(organizer=organizer, user=owner, role=Membership.Role.OWNER)
    return organizer


def membership_add(*, organizer: Organizer, user: Any, role: str) -> Membership:
    membership, _ = Membership.objects.update_or_create(
        organizer=organizer, user=user, defaults={"role": role}
    )
    return membership
