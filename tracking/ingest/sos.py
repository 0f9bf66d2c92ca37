"""An athlete's SOS: stored, sent to race control at once, never shown to spectators.

``raise_sos`` is the one way in (the tracker socket's ``sos`` frame calls it; race
control's own tools and tests may too). It stores a ``SosCall``, sends
``{"type": "control.sos", ...}`` to the race's control group (``control.RACE_ID``:
race control's screens) and then the robust signal ``tracking.signals.sos_raised``
(e-mails to the race's safety contacts hang off it). A receiver that fails is logged;
the athlete is still told race control has the call.

A phone resends its ``sos`` until it hears ``sos_received`` (the answer may be lost with
the socket), so a call carries the phone's own ``client_id``: a second frame with the same
id from the same athlete is the stored call, answered again, not a second call (nor a
second alert or e-mail).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import IntegrityError, transaction
from django.utils import timezone

from pace.lib.plaintext import plain_text_problem
from tracking.live.groups import control_group
from tracking.models import Position, SosCall
from tracking.signals import sos_raised

logger = logging.getLogger(__name__)

MAX_TEXT = 280
CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")


class SosError(ValueError):
    """An ``sos`` frame that cannot be taken as it is (its text or position)."""


def clean_sos(frame: dict[str, Any]) -> tuple[str, float | None, float | None]:
    """The text and position of an ``sos`` frame; ``SosError`` saying what is wrong."""
    text = frame.get("text", "")
    if text is None:
        text = ""
    if not isinstance(text, str) or len(text) > MAX_TEXT:
        raise SosError(f"text must be at most {MAX_TEXT} characters of text")
    if problem := plain_text_problem(text):
        raise SosError(f"text {problem}")
    lat, lon = frame.get("lat"), frame.get("lon")
    if lat is None and lon is None:
        return text.strip(), None, None
    for value, bound in ((lat, 90), (lon, 180)):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or abs(value) > bound
        ):
            raise SosError("lat and lon must both be numbers: lat in [-90, 90], lon in [-180, 180]")
    assert isinstance(lat, int | float) and isinstance(lon, int | float)
    return text.strip(), float(lat), float(lon)


def sos_client_id(frame: dict[str, Any]) -> str:
    """The phone's id of its call (``client_id``: 8 to 64 letters, digits, ``-``, ``_``),
    or "" for a phone that sends none (each frame of theirs is a call)."""
    value = frame.get("client_id")
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or not CLIENT_ID.fullmatch(value):
        raise SosError("client_id must be 8 to 64 letters, digits, '-' or '_'")
    return value


def last_position(registration_id: int) -> tuple[float, float] | None:
    """Where the athlete was last seen (the latest stored fix), if anywhere."""
    found = (
        Position.objects.filter(registration_id=registration_id)
        .order_by("-t")
        .values_list("lat", "lon")
        .first()
    )
    return found


def sos_message(sos: SosCall) -> dict[str, Any]:
    """What race control's group gets: the call, who and where."""
    registration = sos.registration
    return {
        "type": "control.sos",
        "id": sos.pk,
        "race": sos.race_id,
        "registration": sos.registration_id,
        "name": registration.name,
        "bib": registration.bib,
        "text": sos.text,
        "lat": sos.lat,
        "lon": sos.lon,
        "t": sos.t.timestamp(),
    }


def raise_sos(
    *,
    registration_id: int,
    race_id: int,
    text: str = "",
    lat: float | None = None,
    lon: float | None = None,
    t: dt.datetime | None = None,
    client_id: str = "",
) -> SosCall:
    """Store an SOS and alert race control now. Without a position, the athlete's last
    stored fix stands in. Returns the stored ``SosCall``: with a ``client_id`` the athlete
    sent before, that call, as it is, and nobody is alerted again."""
    if client_id:
        known = _call_of_client(registration_id, client_id)
        if known is not None:
            return known
    if lat is None or lon is None:
        lat, lon = last_position(registration_id) or (None, None)
    try:
        with transaction.atomic():
            sos = SosCall.objects.create(
                race_id=race_id,
                registration_id=registration_id,
                text=text[:MAX_TEXT],
                lat=lat,
                lon=lon,
                t=t or timezone.now(),
                client_id=client_id,
            )
    except IntegrityError:
        # The same call on another socket at the same moment (a phone reconnecting
        # twice): the one stored first is the call.
        known = _call_of_client(registration_id, client_id) if client_id else None
        if known is None:
            raise
        return known
    sos = SosCall.objects.select_related("registration", "race").get(pk=sos.pk)
    try:
        async_to_sync(get_channel_layer().group_send)(control_group(race_id), sos_message(sos))
    except Exception:  # the stored call and the signal still reach race control
        logger.exception("race %s: SOS %s not sent to race control's group", race_id, sos.pk)
    for receiver, error in sos_raised.send_robust(sender=SosCall, sos=sos):
        if isinstance(error, Exception):
            logger.error("race %s: %r failed on SOS %s", race_id, receiver, sos.pk, exc_info=error)
    return sos


def last_call_t(*, registration_id: int) -> float | None:
    """When this athlete's latest SOS call was taken (a Unix time), or None."""
    call = SosCall.objects.filter(registration_id=registration_id).order_by("-t").first()
    return round(call.t.timestamp(), 3) if call is not None else None


def _call_of_client(registration_id: int, client_id: str) -> SosCall | None:
    return (
        SosCall.objects.select_related("registration", "race")
        .filter(registration_id=registration_id, client_id=client_id)
        .first()
    )
