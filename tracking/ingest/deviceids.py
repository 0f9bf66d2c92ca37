"""The one rule of what a device id may be (README, "Live tracking").

``/osmand/`` takes fixes from whoever names a linked id, so a short or patterned one
would let anyone send positions as its athlete. The tracker page and the admin refuse
to link such an id (``trackers.clean_device_id``), the ingest never looks one up
(``athletes.athlete_for_device``), and migration 0005 replaced those stored before the
rule: all three ask ``device_id_problem``. Forgetting ids a process remembered is
``devices``' business.
"""

from __future__ import annotations

import re

from tracking.models import DEVICE_ID_MAX

DEVICE_ID_MIN = 8
DIGITS_ONLY_MIN = 12
DISTINCT_MIN = 5
_DEVICE_ID = re.compile(r"[A-Za-z0-9._~-]+")


def device_id_problem(device_id: str) -> str | None:
    """Why ``device_id`` may not name a tracker (shown to the athlete), or None if it may.

    8 to 100 characters that need no escaping in a URL, at least 12 when only digits (an
    8-digit number is one of 10^8, a sweep away), and at least 5 different characters
    (no ``aaaaaaaa``, ``12121212``).
    """
    if not device_id:
        return "Enter the device identifier shown in your tracker app."
    if len(device_id) > DEVICE_ID_MAX:
        return f"A device identifier has at most {DEVICE_ID_MAX} characters."
    if not _DEVICE_ID.fullmatch(device_id):
        return (
            "A device identifier may hold only letters A-Z and a-z, digits, '.', '_', '~' and '-'."
        )
    if len(device_id) < DEVICE_ID_MIN:
        return (
            f"A device identifier needs at least {DEVICE_ID_MIN} characters: a short one "
            "is easy to guess. Type a longer one in your app, or use the one Pace issued."
        )
    if device_id.isdigit() and len(device_id) < DIGITS_ONLY_MIN:
        return (
            f"A device identifier of digits only needs at least {DIGITS_ONLY_MIN} of them: "
            "a shorter number is easy to guess. Add letters, or use the one Pace issued."
        )
    if len(set(device_id)) < DISTINCT_MIN:
        return (
            f"A device identifier needs at least {DISTINCT_MIN} different characters: "
            "a repeated pattern is easy to guess."
        )
    return None


def is_valid_device_id(value: object) -> bool:
    """May ``value`` name a tracker? Asked before any query: no weak id ever matches."""
    return isinstance(value, str) and device_id_problem(value) is None
