"""An athlete's account: everything Pace holds about them as a ZIP, and its deletion.

Each app's part comes from ``pace.lib.personal_data`` (integrations registers its own
and that of the apps below it; results registers its own from above).
"""

from __future__ import annotations

import json
import logging
import zipfile
from typing import IO, Any

from django.db import transaction
from django.utils import timezone

from pace.lib.personal_data import parts

logger = logging.getLogger(__name__)


def _account(user: Any) -> dict[str, Any]:
    from allauth.account.models import EmailAddress

    return {
        "email": user.email,
        "username": user.get_username(),
        "first_name": user.first_name,
        "last_name": user.last_name,
        "date_joined": user.date_joined.isoformat(),
        "last_login": user.last_login.isoformat() if user.last_login else None,
        "email_addresses": [
            {"email": e.email, "verified": e.verified, "primary": e.primary}
            for e in EmailAddress.objects.filter(user=user)
        ],
        "organizer_memberships": [
            {"organizer": str(m.organizer), "role": m.role} for m in user.memberships.all()
        ],
    }


def export_zip(*, user: Any, into: IO[bytes]) -> None:
    """``pace-data.json`` (every app's part) plus each part's files, as a ZIP written into
    ``into`` (a temporary file: years of activities are more than memory should hold)."""
    data: dict[str, Any] = {"exported_at": timezone.now().isoformat(), "account": _account(user)}
    with zipfile.ZipFile(into, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for registered in parts():
            if registered.exporter is None:
                continue
            part = registered.exporter(user)
            data[registered.name] = part.data
            for name, content in part.files:
                archive.writestr(name, content)
        archive.writestr("pace-data.json", json.dumps(data, indent=1, ensure_ascii=False))


def owned_alone(*, user: Any) -> list[str]:
    """Organizers the user is the only owner of: deleting them would orphan those."""
    from events.models import Membership

    names = []
    for membership in Membership.objects.filter(
        user=user, role=Membership.Role.OWNER
    ).select_related("organizer"):
        others = Membership.objects.filter(
            organizer=membership.organizer, role=Membership.Role.OWNER
        ).exclude(user=user)
        if not others.exists():
            names.append(str(membership.organizer))
    return names


def delete_account(*, user: Any) -> dict[str, int]:
    """Run every app's eraser, then delete the user (sessions, e-mail addresses go too)."""
    counts: dict[str, int] = {}
    # Each eraser commits its own part (Strava's revocation is a network call, not to be
    # made inside one long transaction); a failure leaves the account, to be deleted again.
    for registered in parts():
        if registered.eraser is not None:
            counts.update(registered.eraser(user))
    user_id = user.pk
    with transaction.atomic():
        user.delete()
    logger.info("account %s deleted: %s", user_id, counts)
    return counts
