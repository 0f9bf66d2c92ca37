"""Family links: an athlete's no-login link to their race's live page, focused on them.

The athlete makes one (from their entry's page or their tracker page) for 24 hours, 3
or 7 days, and may revoke it. The link carries a token that lets whoever holds it
watch that one race, live page and socket, even a race that is not public; it is
shown once and stored only as its SHA-256, as timing tokens are. Creating them is
rate-limited per entry and per IP (``family.create.*`` in settings.RATE_LIMITS).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.utils import timezone

from events.models import Registration
from pace.lib.plaintext import plain_text_problem
from tracking.models import FamilyLink

TOKEN_PREFIX = "pf_"
DURATIONS = {
    "24h": ("24 hours", dt.timedelta(hours=24)),
    "3d": ("3 days", dt.timedelta(days=3)),
    "7d": ("7 days", dt.timedelta(days=7)),
}
MAX_ACTIVE = 10  # links of one entry working at once


class FamilyLinkError(Exception):
    """Why a family link cannot be made, in words for the athlete."""


def new_family_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(24)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", errors="replace")).hexdigest()


def active_family_links(
    *, registration: Registration, now: dt.datetime | None = None
) -> list[FamilyLink]:
    """The entry's links that still work, newest first."""
    moment = now or timezone.now()
    return list(
        FamilyLink.objects.filter(
            registration=registration, revoked_at__isnull=True, expires_at__gt=moment
        )
    )


def family_link_create(
    *, registration: Registration, duration: str, label: str = "", now: dt.datetime | None = None
) -> tuple[FamilyLink, str]:
    """A new link of ``duration`` (a key of ``DURATIONS``) and its token, which only the
    caller ever sees."""
    if duration not in DURATIONS:
        raise FamilyLinkError("Choose how long the link works: 24 hours, 3 days or 7 days.")
    if registration.status != Registration.Status.CONFIRMED:
        raise FamilyLinkError("Only a confirmed entry can share its live tracking.")
    if problem := plain_text_problem(label):
        raise FamilyLinkError(f"The name {problem}.")
    moment = now or timezone.now()
    if len(active_family_links(registration=registration, now=moment)) >= MAX_ACTIVE:
        raise FamilyLinkError(
            f"This entry already has {MAX_ACTIVE} working links: revoke one first."
        )
    token = new_family_token()
    link = FamilyLink.objects.create(
        registration=registration,
        digest=token_digest(token),
        hint=token[: len(TOKEN_PREFIX) + 4],
        label=label.strip()[:60],
        created_at=moment,
        expires_at=moment + DURATIONS[duration][1],
    )
    return link, token


def family_link_revoke(*, link: FamilyLink, now: dt.datetime | None = None) -> None:
    """The link stops working: pages and sockets opened with it afterwards are refused,
    and the sockets it opened are closed at their next check (``LiveConsumer``, within
    ``FAMILY_RECHECK_SECONDS``)."""
    if link.revoked_at is None:
        link.revoked_at = now or timezone.now()
        link.save(update_fields=["revoked_at"])


def family_link_for(
    *, token: str, race_id: int | None = None, now: dt.datetime | None = None
) -> FamilyLink | None:
    """The working link of ``token`` (of race ``race_id``, when given), else None."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100 or "\x00" in token:
        return None
    moment = now or timezone.now()
    link = (
        FamilyLink.objects.select_related("registration__race__event")
        .filter(digest=token_digest(token), revoked_at__isnull=True, expires_at__gt=moment)
        .first()
    )
    if link is None or link.registration.status != Registration.Status.CONFIRMED:
        return None
    if race_id is not None and link.registration.race_id != race_id:
        return None
    return link
