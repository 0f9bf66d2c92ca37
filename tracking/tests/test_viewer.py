"""A spectator that falls behind costs nobody else anything and heals with a snapshot."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from tracking.hub import RaceHub, Tick
from tracking.tests.helpers import run
from tracking.viewer import QUEUE_MAX, Viewer


def _tick(seq: int) -> Tick:
    return Tick(seq=seq, t=float(seq), states={1: f'{{"id":1,"seq":{seq}}}'}, leaders=[1],
                results=[], field_interval=60, athletes=1)  # fmt: skip


def test_it_drops_what_a_slow_viewer_queued_and_sends_a_fresh_snapshot():
    sent: list[str] = []

    async def scenario():
        viewer = Viewer(race={"id": 424242, "name": "R"}, send=_collect(sent))
        hub = RaceHub(424242)
        runner = asyncio.ensure_future(viewer.run())
        viewer.wake.set()
        await asyncio.sleep(0.05)  # the first snapshot (an empty race)
        viewer.seq = 1
        # The hub delivers without waiting: the viewer's socket is stuck meanwhile.
        for seq in range(2, QUEUE_MAX + 10):
            viewer.hub_tick(_tick(seq), hub)
        assert len(viewer.queue) <= QUEUE_MAX and viewer.resync
        await asyncio.sleep(0.05)
        runner.cancel()
        return viewer

    viewer = run(scenario)
    kinds = [json.loads(f)["type"] for f in sent]
    assert kinds[:2] == ["snapshot", "snapshot"]
    assert viewer.resyncs == 2
    # After the fresh snapshot only the ticks queued since the overflow follow, in order.
    seqs = [json.loads(f)["seq"] for f in sent[2:]]
    assert seqs == sorted(seqs)


def _collect(sent: list[str]):
    async def send(text: str) -> None:
        sent.append(text)

    return send


@pytest.mark.parametrize("gap", [2, 5])
def test_it_heals_a_lost_tick_with_a_fresh_snapshot(gap):
    sent: list[str] = []

    async def scenario():
        viewer = Viewer(race={"id": 434343, "name": "R"}, send=_collect(sent))
        hub = RaceHub(434343)
        viewer.resync = False
        viewer.seq = 10
        frames = viewer._tick_frames(_tick(11), hub)
        lost = viewer._tick_frames(_tick(11 + gap), hub)
        return frames, lost, viewer.resync

    frames, lost, resync = run(scenario)
    assert json.loads(frames[0])["seq"] == 11
    assert lost == [] and resync


def test_it_waits_before_resyncing_a_viewer_that_keeps_falling_behind():
    sent: list[str] = []

    async def scenario():
        viewer = Viewer(race={"id": 454545, "name": "R"}, send=_collect(sent))
        hub = RaceHub(454545)
        viewer.resync, viewer.seq = False, 1
        viewer.calm_at = time.monotonic() + 0.4  # it resynced for being behind just now
        runner = asyncio.ensure_future(viewer.run())
        for seq in range(2, QUEUE_MAX + 5):
            viewer.hub_tick(_tick(seq), hub)
        await asyncio.sleep(0.2)
        early = list(sent)
        await asyncio.sleep(0.4)
        runner.cancel()
        return early

    early = run(scenario)
    assert early == []  # still calming down: no snapshot yet
    assert [json.loads(f)["type"] for f in sent] == ["snapshot"]
