"""When a race is live: its tracking window, from before its start to after its limit.

The ingest takes fixes inside it, tickers run inside it and the tracker page shows it:
one rule for all three.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings


def tracking_window(*, start: dt.datetime, time_limit: dt.timedelta | None) -> tuple[float, float]:
    """When a race takes fixes: from a while before its start to a while after its limit."""
    opens = start - dt.timedelta(minutes=settings.TRACKING_OPENS_BEFORE_MINUTES)
    closes = (
        start
        + (time_limit or dt.timedelta(hours=24))
        + dt.timedelta(minutes=settings.TRACKING_CLOSES_AFTER_MINUTES)
    )
    return opens.timestamp(), closes.timestamp()
