"""A spectator's live traffic stays within its budget (PROTOCOL.md §3: about 5 KB/s).

Real frames: a race engine with N athletes moving along a course, each phone sending a
fix every few seconds, its ticks dispatched to a real hub, and the bytes one default
viewer is sent (ticks of its focus, field frames, result frames) counted once the
viewer is past its snapshot.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from pace.daphne_patches.outlet import Outlet
from pace.lib.geo import cumulative_distances, point_at_distance
from tracking.fanout.hub import RaceHub
from tracking.fanout.viewer import Viewer
from tracking.live.engine import (
    COMPACT_ENTRY_BYTES,
    Athlete,
    Fix,
    RaceEngine,
    Split,
    default_field_interval,
)
from tracking.live.projection import CourseLine
from tracking.live.ticker import tick_message
from tracking.tests.helpers import outbox_written, run
from tracking.tests.test_engine import LINE

BUDGET = 5000  # bytes a second, settings.TRACKING_FIELD_BYTES_PER_SECOND's default
START = 1_800_000_000.0
# Measured from 20 minutes into the race: its steady state, not the first minutes' pack
# where the leaders pass each other every second.
OFFSET = 1_200
SEND_EVERY = 3  # seconds between a phone's batches (the simulator's and the tracker's)
CUM = cumulative_distances(LINE)
FIRST = ["Alexandra", "Jean-Baptiste", "Mia", "Olusegun", "Zoë", "Christopher", "Li"]
LAST = ["Vandenberghe", "Okafor", "Smith", "Delacroix-Martin", "Nguyen", "Østergaard"]


def _engine(athletes: int, rng: random.Random) -> tuple[RaceEngine, dict[int, float]]:
    people = {
        # Registration ids of a busy platform: six or seven digits.
        1_000_000 + i: Athlete(
            id=1_000_000 + i,
            bib=str(i + 1),
            name=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            category=rng.choice(["M", "F", "M40", "F50"]),
        )
        for i in range(athletes)
    }
    engine = RaceEngine(
        race_id=1, start=START, course=CourseLine(LINE, official_distance=10_000),
        splits=[Split("2.5 km", 2500), Split("5 km", 5000), Split("7.5 km", 7500)],
        athletes=people, time_limit=3 * 3600, field_budget=BUDGET,
    )  # fmt: skip
    # Metres a second: a 10 km field from 31 to 80 minutes.
    return engine, {a: min(5.4, max(2.1, rng.gauss(3.3, 0.5))) for a in people}


def _fixes(engine: RaceEngine, speeds: dict[int, float], second: int) -> list[Fix]:
    """The fixes that reach the ticker this second: each phone's batch every SEND_EVERY s,
    phones spread over those seconds; its last fix is the one the engine keeps."""
    out = []
    for athlete, speed in speeds.items():
        if (athlete + second) % SEND_EVERY:
            continue
        metres = min(9_990.0, speed * (OFFSET + second)) * CUM[-1] / 10_000
        lon, lat = point_at_distance(LINE, CUM, metres)
        out.append(Fix(athlete, START + OFFSET + second, lat, lon, hr=140 + athlete % 40))
    return out


class _Counted(Outlet):
    def backlog(self) -> int:
        return 0


def _traffic(athletes: int, *, warm: int, seconds: int) -> tuple[float, dict[str, Any]]:
    """Bytes a second one default viewer is sent over ``seconds`` after ``warm`` seconds
    of the race (its snapshot and first field frames behind it), with the frames' types."""
    rng = random.Random(athletes)
    engine, speeds = _engine(athletes, rng)
    sizes: list[tuple[int, str, int]] = []  # (second, type, bytes on the wire)
    clock = {"now": 0}

    async def send(message: dict[str, Any]) -> None:
        text = message["text"]
        kind = json.loads(text)["type"]
        n = len(text.encode())
        sizes.append((clock["now"], kind, n + (2 if n < 126 else 4 if n < 65536 else 10)))

    async def scenario() -> None:
        hub = RaceHub(990_000 + athletes)
        viewer = Viewer(
            race={"id": hub.race_id, "name": "R"}, outlet=_Counted(send), max_backlog=10**9
        )
        hub.listeners.add(viewer)
        await hub._load()
        for second in range(1, warm + seconds + 1):
            clock["now"] = second
            engine.add_fixes(_fixes(engine, speeds, second))
            hub.dispatch(tick_message(engine.tick(START + OFFSET + second)))
            await outbox_written(hub)

    run(scenario)
    window = [(kind, n) for second, kind, n in sizes if second > warm]
    kinds: dict[str, Any] = {}
    for kind, n in window:
        kinds[kind] = kinds.get(kind, 0) + n
    assert "snapshot" not in kinds  # only the one at the start, before the window
    return sum(n for _, n in window) / seconds, kinds


@pytest.mark.parametrize("athletes", [60, 1_000, 5_000])
def test_a_default_viewer_gets_at_most_5_kb_a_second(athletes: int, monkeypatch) -> None:
    interval = default_field_interval(athletes, BUDGET)
    # The viewer's first field frame an interval after its snapshot (no random lag), then
    # whole field intervals (at least 30 s) measured.
    monkeypatch.setattr("tracking.fanout.viewer.field_lag", lambda interval: 0)
    rate, kinds = _traffic(athletes, warm=interval + 2, seconds=max(30, interval))
    assert "field" in kinds and "tick" in kinds, kinds
    assert rate <= BUDGET, (rate, interval, kinds)
    # The budget is used, not thrown away: a small race gets its field every second or two.
    if athletes <= 60:
        assert interval <= 2


def test_the_entry_size_the_interval_assumes_is_what_the_engine_encodes() -> None:
    rng = random.Random(7)
    engine, speeds = _engine(2_000, rng)
    # The last 90 s of 20 minutes: the entries are those of where the athletes are then
    # (their positions follow the race's clock), with pace and ranks settled.
    for second in range(1_110, 1_200, 3):
        engine.add_fixes(_fixes(engine, speeds, second))
        engine.add_fixes(_fixes(engine, speeds, second + 1))
        engine.add_fixes(_fixes(engine, speeds, second + 2))
        out = engine.tick(START + OFFSET + second + 2)
    field = {a: e for a, e in out.field}
    assert len(field) > 1_000
    mean = sum(len(e) + 1 for e in field.values()) / len(field)  # with its comma
    assert mean <= COMPACT_ENTRY_BYTES, mean
    assert mean >= COMPACT_ENTRY_BYTES * 0.8, mean  # nor does it waste the budget
