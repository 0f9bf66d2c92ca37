"""How results read: durations, paces and speeds as people write them at races.

Pure functions over integer milliseconds, shared by the pages, the exports and the
certificate, so a time reads the same everywhere.
"""

from __future__ import annotations

import math

from events.models import Sport

# Road-race rule (World Athletics 19.24): a time not on a whole second is shown
# rounded up to the next one; ranks still come from the milliseconds.
SECOND_MS = 1000


def duration(ms: int | None, *, precise: bool = False) -> str:
    """``h:mm:ss`` (rounded up to the second), or ``h:mm:ss.mmm`` when ``precise``."""
    if ms is None:
        return ""
    sign = "-" if ms < 0 else ""
    ms = abs(ms)
    if precise:
        seconds, millis = divmod(ms, SECOND_MS)
        tail = f".{millis:03d}"
    else:
        seconds, tail = math.ceil(ms / SECOND_MS), ""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{sign}{hours}:{minutes:02d}:{secs:02d}{tail}"


def pace_per_km(ms: int | None, metres: float | None) -> str:
    """``m:ss /km`` over ``metres``; empty without a time or a distance."""
    if ms is None or not metres or metres <= 0 or ms <= 0:
        return ""
    seconds = round(ms / SECOND_MS / (metres / 1000))
    minutes, secs = divmod(seconds, 60)
    return f"{minutes}:{secs:02d} /km"


def speed_kmh(ms: int | None, metres: float | None) -> str:
    if ms is None or not metres or metres <= 0 or ms <= 0:
        return ""
    return f"{metres / 1000 / (ms / 3_600_000):.1f} km/h"


def uses_speed(sport: str) -> bool:
    """Cyclists read speed; runners and triathletes read pace."""
    return sport == Sport.CYCLING


def pace_or_speed(ms: int | None, metres: float | None, *, sport: str) -> str:
    return speed_kmh(ms, metres) if uses_speed(sport) else pace_per_km(ms, metres)


def seconds_per_km(ms: int | None, metres: float | None) -> float | None:
    """A pace as a number, for charts."""
    if ms is None or not metres or metres <= 0 or ms <= 0:
        return None
    return ms / SECOND_MS / (metres / 1000)
