"""The channel-layer group of a live race, which every process's hub of the race joins.

The ticker sends its ticks there; posts, kudos and revoked trackers are announced
there. It lives with the live state so that those who send to it (the ticker, the
ingest, kudos and posts) need not import the hub that listens.
"""

from __future__ import annotations


def race_group(race_id: int) -> str:
    return f"live.race.{race_id}"
