"""Messages from race control to athletes' trackers (PROTOCOL.md §1 ``message``).

``send_message_to_athletes`` stores a ``RaceMessage`` and sends it to the race's
athletes' group (``race_athletes.RACE_ID``), which every process's hub of the race
joins and hands to its trackers: to the one athlete named, or to all. The trackers'
sockets have no channel of their own (``tracking.fanout.sockets``), so there is no
group per athlete: the message names its ``registration`` (None: everyone).

A tracker that was away asks for what it missed: its ``hello`` carries
``messages_since`` (the id of the last message it has), answered by ``missed``.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db.models import Q

from pace.lib.jsonfast import dumps
from pace.lib.plaintext import plain_text_problem
from tracking.live.groups import race_athletes_group
from tracking.models import RaceMessage

MAX_TEXT = 500
MISSED_LIMIT = 20  # a tracker back after hours gets the latest this many


def message_frame(message: RaceMessage) -> str:
    """The tracker's ``message`` frame (``id`` and ``to`` added to PROTOCOL.md's fields)."""
    return dumps(
        {
            "type": "message",
            "id": message.pk,
            "from": message.sender,
            "text": message.text,
            "t": round(message.created_at.timestamp(), 3),
            "to": "all" if message.registration_id is None else "you",
        }
    )


def send_message_to_athletes(
    race_id: int,
    text: str,
    sender: str,
    registration_id: int | None = None,
    *,
    sent_by: Any = None,
) -> RaceMessage:
    """Send ``text`` from ``sender`` (a name shown on the tracker: "Race control") to
    every athlete of the race, or to one (``registration_id``). Stored, then sent live."""
    text = text.strip()
    if not text or len(text) > MAX_TEXT:
        raise ValueError(f"a message is 1 to {MAX_TEXT} characters of text")
    if problem := plain_text_problem(text):
        raise ValueError(f"a message {problem}")
    message = RaceMessage.objects.create(
        race_id=race_id,
        registration_id=registration_id,
        sender=(sender or "Race control")[:100],
        sent_by=sent_by,
        text=text,
    )
    event = {
        "type": "athlete.message",
        "registration": registration_id,
        "frame": message_frame(message),
        "from": message.sender,
        "text": message.text,
        "t": message.created_at.timestamp(),
    }
    async_to_sync(get_channel_layer().group_send)(race_athletes_group(race_id), event)
    return message


def missed(*, race_id: int, registration_id: int, since: int) -> list[str]:
    """The ``message`` frames of this athlete's race after message id ``since``, oldest
    first (the latest ``MISSED_LIMIT``)."""
    found = (
        RaceMessage.objects.filter(race_id=race_id, pk__gt=since)
        .filter(Q(registration_id=registration_id) | Q(registration__isnull=True))
        .order_by("-pk")[:MISSED_LIMIT]
    )
    return [message_frame(m) for m in reversed(list(found))]
