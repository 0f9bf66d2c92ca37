"""The channel-layer group of a live race, which every process's hub of the race joins.

The ticker sends its ticks there; posts, kudos and revoked trackers are announced
there. It lives with the live state so that those who send to it (the ticker, the
ingest, kudos and posts) need not import the hub that listens.
"""

from __future__ import annotations


def race_group(race_id: int) -> str:
    return f"live.race.{race_id}"


def race_athletes_group(race_id: int) -> str:
    """Messages from race control to a race's athletes' trackers (``athlete.message``,
    with ``registration`` naming one athlete, or None for all): every process's hub of
    the race joins it and hands them to its phones (``tracking.ingest.race_messages``)."""
    return f"race_athletes.{race_id}"


def control_group(race_id: int) -> str:
    """Race control's screens of a race: ``control.sos`` when an athlete presses SOS
    (``tracking.ingest.sos``). Never a spectator's."""
    return f"control.{race_id}"
