"""Strava's webhook: the subscription handshake and its events.

Events are not signed; one that names another subscription than the application's is
refused. The view answers at once and a task does the work: an activity created or
updated is fetched first in line, a deleted one is deleted, a deauthorisation deletes
everything Pace imported from that athlete.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.utils.crypto import constant_time_compare

from integrations.models import (
    Activity,
    ActivitySource,
    Connection,
    JobKind,
    JobPriority,
    Provider,
    StravaSubscription,
)

logger = logging.getLogger(__name__)

OBJECT_TYPES = {"activity", "athlete"}
ASPECT_TYPES = {"create", "update", "delete"}


class BadEvent(ValueError):  # noqa: N818 (a reason to answer 400 with, not a fault)
    """The body is not a Strava event; its message says why."""


def challenge_answer(params: dict[str, str]) -> str | None:
    """The ``hub.challenge`` to echo when the handshake is ours, else None."""
    expected = settings.STRAVA_WEBHOOK_VERIFY_TOKEN
    if params.get("hub.mode") != "subscribe" or not expected:
        return None
    if not constant_time_compare(params.get("hub.verify_token", ""), expected):
        return None
    challenge = params.get("hub.challenge", "")
    return challenge if 0 < len(challenge) <= 255 else None


def _int(body: dict[str, Any], key: str) -> int:
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value >= 2**63:
        raise BadEvent(f"{key} must be a whole number")
    return value


def parse_event(body: Any) -> dict[str, Any]:
    """The fields Pace uses of an event body, checked; BadEvent says what is wrong."""
    if not isinstance(body, dict):
        raise BadEvent("the body must be a JSON object")
    object_type, aspect_type = body.get("object_type"), body.get("aspect_type")
    if not isinstance(object_type, str) or object_type not in OBJECT_TYPES:
        raise BadEvent("object_type must be activity or athlete")
    if not isinstance(aspect_type, str) or aspect_type not in ASPECT_TYPES:
        raise BadEvent("aspect_type must be create, update or delete")
    updates = body.get("updates", {})
    if not isinstance(updates, dict):
        raise BadEvent("updates must be an object")
    return {
        "object_type": body["object_type"],
        "aspect_type": body["aspect_type"],
        "object_id": _int(body, "object_id"),
        "owner_id": _int(body, "owner_id"),
        "subscription_id": _int(body, "subscription_id"),
        "updates": {str(k)[:64]: str(v)[:255] for k, v in list(updates.items())[:20]},
    }


def is_ours(subscription_id: int) -> bool:
    return StravaSubscription.objects.filter(subscription_id=subscription_id).exists()


def handle_event(event: dict[str, Any]) -> None:
    """Act on a checked event (in a task)."""
    from integrations.strava.backfill import enqueue, kick
    from integrations.strava.connect import delete_strava_data

    connection = Connection.objects.filter(
        provider=Provider.STRAVA, external_id=str(event["owner_id"])
    ).first()
    if connection is None:
        return  # an athlete who is not (or no longer) connected
    if event["object_type"] == "athlete":
        if str(event["updates"].get("authorized", "")).lower() == "false":
            logger.info("Strava athlete %s deauthorised Pace", event["owner_id"])
            delete_strava_data(connection)
        return
    if event["aspect_type"] == "delete":
        Activity.objects.filter(
            user_id=connection.user_id,
            source=ActivitySource.STRAVA,
            external_id=str(event["object_id"]),
        ).delete()
        connection.jobs.filter(strava_id=event["object_id"]).delete()
        return
    connection.jobs.filter(kind=JobKind.ACTIVITY, strava_id=event["object_id"]).update(
        claimed_until=None
    )
    enqueue(connection, JobKind.ACTIVITY, priority=JobPriority.FRESH, strava_id=event["object_id"])
    kick()
