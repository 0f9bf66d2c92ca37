"""Timed results reaching spectators: PROTOCOL.md's ``result`` frame from outside the ticker.

The tick frames the splits that GPS finds. Reads from timing mats, decoders and the
finish line are recorded by ``results``, which tracking never imports: it calls
``publish_result`` after its transaction commits. The frame is encoded once and sent
to the race's group once; each process's hub hands it to its viewers as it does the
tick's own ``result`` frames (``RaceHub.dispatch``, ``Viewer.hub_result``).
"""

from __future__ import annotations

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from pace.lib.jsonfast import dumps
from tracking.live.groups import race_group


def result_frame(*, athlete: int, point: str, time: float, rank: int | None = None) -> str:
    """The ``result`` frame: ``time`` in epoch seconds, ``rank`` only when known."""
    frame = {"type": "result", "athlete": athlete, "point": point, "time": time}
    return dumps(frame | ({"rank": rank} if rank else {}))


def publish_result(
    *, race_id: int, athlete: int, point: str, time: float, rank: int | None = None
) -> None:
    """Send a ``result`` frame to the race's spectators (call it from synchronous code)."""
    encoded = result_frame(athlete=athlete, point=point, time=time, rank=rank)
    message = {"type": "race.result", "athlete": athlete, "frame": encoded}
    async_to_sync(get_channel_layer().group_send)(race_group(race_id), message)
