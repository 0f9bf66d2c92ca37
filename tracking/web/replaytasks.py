"""The replay's tasks (Celery in production, run in-process in the embedded default).

Here, not in ``tracking.tasks``, because they belong to the pages' room
(``tracking.web.replaydata``); ``TrackingConfig.ready`` imports this module so that the
worker and the embedded scheduler know them.
"""

from __future__ import annotations

from celery import shared_task

from tracking.web.replaydata import replay_build_now
from tracking.web.replaydata import replays_prebuild as prebuild


@shared_task(name="tracking.replays_prebuild")
def replays_prebuild() -> list[int]:
    """Every minute: the replays of races whose tracking closed lately, built once it
    closes and again when their positions change."""
    return prebuild()


@shared_task(name="tracking.replay_build")
def replay_build(race_id: int) -> bool:
    """One race's replay, asked for by a request that found none current."""
    return replay_build_now(race_id=race_id) is not None
