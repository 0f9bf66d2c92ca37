"""Who sends fixes: the athlete a tracking token or a device id belongs to.

Asked by the ingest's two doors (``/ws/track/`` and ``/osmand/``) before anything is
stored; every key is checked before the database is asked (``is_plausible_key``,
``deviceids.is_valid_device_id``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from django.db.models import Max

from tracking.ingest.deviceids import is_valid_device_id
from tracking.live.window import tracking_window
from tracking.models import Position, Tracker, secret_digest


@dataclass(frozen=True, slots=True)
class Athlete:
    """A tracker's registration, as the ingest and the ``welcome`` frame need it."""

    id: int
    name: str
    bib: str
    race_id: int
    race_name: str
    race_start: float
    opens: float
    closes: float

    def welcome(self, last_seq: int | None) -> dict[str, Any]:
        return {
            "type": "welcome",
            "athlete": {"id": self.id, "name": self.name, "bib": self.bib},
            "race": {"id": self.race_id, "name": self.race_name, "start": self.race_start},
            "last_seq": last_seq,
        }

    def is_open(self, now: float) -> bool:
        return self.opens <= now <= self.closes


def _athlete(tracker: Tracker) -> Athlete:
    registration = tracker.registration
    race = registration.race
    opens, closes = tracking_window(start=race.start_time, time_limit=race.time_limit)
    return Athlete(
        id=registration.pk,
        name=registration.name,
        bib=registration.bib,
        race_id=race.pk,
        race_name=f"{race.event.name} {race.name}",
        race_start=race.start_time.timestamp(),
        opens=opens,
        closes=closes,
    )


def _active_trackers() -> Any:
    return Tracker.objects.filter(
        revoked_at__isnull=True, registration__status="confirmed"
    ).select_related("registration__race__event")


def is_plausible_key(value: object, *, max_length: int) -> bool:
    """Could ``value`` be a stored token? Asked before the database is: a NUL in a string
    is an error on PostgreSQL (a 500), and no key holds one. (Device ids have their own
    rule: ``deviceids.is_valid_device_id``.)"""
    return isinstance(value, str) and 0 < len(value) <= max_length and value.isprintable()


def athlete_for_token(token: str) -> Athlete | None:
    """The athlete a tracking token belongs to, or None if unknown or revoked."""
    if not is_plausible_key(token, max_length=64):
        return None
    tracker = _active_trackers().filter(token_digest=secret_digest(token)).first()
    return _athlete(tracker) if tracker else None


def athlete_for_device(device_id: str) -> Athlete | None:
    """The athlete an OsmAnd / Traccar device id is linked to. An id that breaks the rules
    (``deviceids.device_id_problem``: one stored before them, or a guess) matches none."""
    if not is_valid_device_id(device_id):
        return None
    tracker = _active_trackers().filter(device_digest=secret_digest(device_id)).first()
    return _athlete(tracker) if tracker else None


def device_key(device: str) -> int:
    """A stable 63-bit key of a device's name (0 for none): what ``Position`` keeps of it."""
    if not device:
        return 0
    return int.from_bytes(hashlib.blake2b(device.encode(), digest_size=8).digest()) >> 1 or 1


def athletes_and_last_seqs(
    keys: list[tuple[str, int]],
) -> dict[tuple[str, int], tuple[Athlete | None, int | None]]:
    """For each ``(token, device key)``: the token's athlete and the last ``seq`` stored from
    that device, in two queries for all of them (``tracking.ingest.welcomes`` gathers the
    phones that connect at once). Unknown or revoked tokens are ``(None, None)``."""
    # Looked up by digest (``Tracker.token_digest``): no token is stored in clear.
    tokens = {
        secret_digest(token): token for token, _ in keys if is_plausible_key(token, max_length=64)
    }
    found: dict[str, Athlete] = {}
    if tokens:
        trackers = _active_trackers().filter(token_digest__in=tokens)
        found = {tokens[t.token_digest]: _athlete(t) for t in trackers}
    pairs = {(found[t].id, device) for t, device in keys if t in found}
    highest: dict[tuple[int, int], int] = {}
    if pairs:
        rows = (
            Position.objects.filter(
                registration_id__in={a for a, _ in pairs},
                device_key__in={d for _, d in pairs},
                seq__gt=0,
            )
            .values_list("registration_id", "device_key")
            .annotate(m=Max("seq"))
            .order_by()
        )
        highest = {(a, d): m for a, d, m in rows}
    out: dict[tuple[str, int], tuple[Athlete | None, int | None]] = {}
    for token, device in keys:
        athlete = found.get(token)
        out[(token, device)] = (
            (athlete, highest.get((athlete.id, device))) if athlete else (None, None)
        )
    return out


def last_seq(*, athlete_id: int, device: int = 0) -> int | None:
    """The highest batch ``seq`` stored for this athlete from this device (the
    ``welcome``'s ``last_seq``): each device counts its own ``seq``."""
    found = Position.objects.filter(
        registration_id=athlete_id, device_key=device, seq__gt=0
    ).aggregate(m=Max("seq"))
    highest: int | None = found["m"]
    return highest
