"""What race control does to a race: mark an athlete DNF, hide a post, message athletes,
acknowledge an SOS. Each takes the race the organizer acts on (already checked by the
caller: ``tracking.control.access``) and refuses an object of another race.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from events.models import Race, Registration
from tracking.fanout.posts import posts_set_hidden
from tracking.ingest.race_messages import send_message_to_athletes
from tracking.live.alerts import refresh_cache_key
from tracking.live.groups import control_group
from tracking.models import Post, RaceMessage, SosCall, Withdrawal
from tracking.signals import athlete_withdrawn

logger = logging.getLogger(__name__)
MAX_REASON = 200
SENDER = "Race control"
REFRESH_SECONDS = 60  # the ticker reads it within a tick; none running, it lapses
SOS_ACK_TEXT = "Race control has your SOS. Help is being organised: stay where you are if safe."


class ControlError(ValueError):
    """An action refused, with the reason shown to the organizer."""


def _tell_screens(race_id: int, message: dict[str, Any]) -> None:
    try:
        async_to_sync(get_channel_layer().group_send)(control_group(race_id), message)
    except Exception:  # the action is done; the other screens see it on their next load
        logger.exception("race %s: %s not sent to race control's screens", race_id, message)


def race_refresh(race_id: int) -> None:
    """Make the race's ticker read its DNFs and safety settings at its next tick."""
    cache.set(refresh_cache_key(race_id), True, REFRESH_SECONDS)


def _athlete(race: Race, registration_id: Any) -> Registration:
    try:
        pk = int(registration_id)
    except (TypeError, ValueError):
        raise ControlError("Choose an athlete of this race.") from None
    found = Registration.objects.filter(
        pk=pk, race=race, status=Registration.Status.CONFIRMED
    ).first()
    if found is None:
        raise ControlError("No such athlete in this race.")
    return found


def athlete_withdraw(*, race: Race, registration_id: Any, by: Any, reason: str = "") -> Withdrawal:
    """Mark an athlete DNF: stored with who and when, shown to spectators as ``dnf``
    from the ticker's next roster refresh, and set in results (``athlete_withdrawn``).
    Marking the same athlete again changes nothing."""
    registration = _athlete(race, registration_id)
    reason = " ".join(reason.split())[:MAX_REASON]
    with transaction.atomic():
        withdrawal, created = Withdrawal.objects.get_or_create(
            registration=registration,
            defaults={"race": race, "reason": reason, "by": by, "at": timezone.now()},
        )
    if not created:
        return withdrawal
    race_refresh(race.pk)
    for receiver, error in athlete_withdrawn.send_robust(
        sender=Withdrawal,
        race_id=race.pk,
        registration_id=registration.pk,
        by=by,
        reason=reason or "Marked DNF by race control",
    ):
        if isinstance(error, Exception):
            logger.error("race %s: %r failed on a DNF", race.pk, receiver, exc_info=error)
    _tell_screens(
        race.pk,
        {"type": "control.withdrawn", "athlete": registration.pk, "t": withdrawal.at.timestamp()},
    )
    return withdrawal


def post_hide(*, race: Race, post_id: Any) -> int:
    """Hide a post of this race from spectators (as the admin's action does)."""
    try:
        pk = int(post_id)
    except (TypeError, ValueError):
        raise ControlError("No such post.") from None
    posts = Post.objects.filter(pk=pk, race=race)
    if not posts.exists():
        raise ControlError("No such post in this race.")
    return posts_set_hidden(posts=posts, hidden=True)


def athletes_message(*, race: Race, text: str, by: Any, registration_id: Any = None) -> RaceMessage:
    """Send a message to one athlete's tracker, or to every athlete's (no athlete)."""
    to = None if registration_id in (None, "") else _athlete(race, registration_id).pk
    try:
        return send_message_to_athletes(race.pk, text, SENDER, to, sent_by=by)
    except ValueError as exc:
        raise ControlError(str(exc)) from None


def sos_acknowledge(*, race: Race, sos_id: Any, by: Any) -> SosCall:
    """Race control has seen the call: stored with who and when, the other screens
    stop ringing, and the athlete's tracker is told."""
    try:
        pk = int(sos_id)
    except (TypeError, ValueError):
        raise ControlError("No such SOS.") from None
    with transaction.atomic():
        sos = SosCall.objects.select_for_update().filter(pk=pk, race=race).first()
        if sos is None:
            raise ControlError("No such SOS in this race.")
        if sos.acknowledged_at is not None:
            return sos
        sos.acknowledged_at, sos.acknowledged_by = timezone.now(), by
        sos.save(update_fields=["acknowledged_at", "acknowledged_by"])
    name = (getattr(by, "first_name", "") or getattr(by, "email", "") or "").strip()
    _tell_screens(
        race.pk,
        {
            "type": "control.sos_ack",
            "id": sos.pk,
            "by": name[:100],
            "t": sos.acknowledged_at.timestamp(),
        },
    )
    try:
        send_message_to_athletes(race.pk, SOS_ACK_TEXT, SENDER, sos.registration_id, sent_by=by)
    except Exception:
        logger.exception("race %s: the athlete of SOS %s not told it was seen", race.pk, sos.pk)
    return sos
