"""What an arriving spectator must parse at a race of N athletes, and how long that takes.

    .venv/bin/python -m bench.client_parse --athletes 5000

A race of ``--athletes`` on a synthetic 10 km loop, moved by Pace's own engine for a
few ticks (everyone racing, ranked, with split ETAs), then the first reads of a client
built by Pace's own code: the protocol snapshot with the whole field
(``RaceMirror.snapshot``, what a ``/ws/live/`` socket sends first), ``field.json``
(``livefield.field_json``) and ``roster.json`` (``livefield.roster_json`` of rows shaped as
``spectator_roster``'s, names of the size the test races use), and one tick of the
leaders' states. Each is parsed with orjson, every object built, as bench/live.py's
clients do, with their garbage collector's settings (``tune_for_server``: with CPython's
defaults a 5,000-athlete read costs three times as much, in collections its 50,000 new
lists set off).

It bounds what a surge or a restart can ask of a machine that carries its own clients:
20,000 page-like arrivals each parse ``field.json`` and ``roster.json``; a protocol
reconnect parses the snapshot. Prints a table; ``--output`` writes it as JSON.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any, cast

import orjson

START = 1_800_000_000.0
TICK_S = 300.0  # minutes apart: the field spreads out along the course


def race_reads(athletes: int) -> dict[str, bytes]:
    """The first reads of a spectator of a race of ``athletes``, as Pace builds them."""
    from events.courses import parse_gpx
    from pace.lib.geo import cumulative_distances, point_at_distance
    from pace.lib.gpxsynth import synth_course_gpx
    from tracking.fanout.mirror import RaceMirror
    from tracking.live.engine import Athlete, Fix, RaceEngine, Split
    from tracking.live.livestore import RaceState
    from tracking.live.projection import CourseLine
    from tracking.web.livefield import field_json, roster_json

    gpx = synth_course_gpx(
        name="c", lat=45.0, lon=6.0, distance_m=10_000, shape="loop", climb_m=80, seed=3
    )
    # A synthetic course's every point has its longitude and latitude (never None).
    line = cast("list[list[float]]", parse_gpx(gpx).line)
    cumulative = cumulative_distances(line)
    engine = RaceEngine(
        race_id=1,
        start=START,
        course=CourseLine(line, official_distance=10_000),
        splits=[Split("5 km", 5000), Split("Finish", 10_000)],
        athletes={
            i: Athlete(id=i, bib=str(i), name=f"Test Athlete {i:05d}", category="M40")
            for i in range(1, athletes + 1)
        },
        time_limit=4 * 3600,
    )
    for step in range(1, 4):
        fixes = []
        for i in range(1, athletes + 1):
            metres = min(9_900.0, (2.5 + (i % 15) / 10) * step * TICK_S)
            lon, lat = point_at_distance(line, cumulative, metres * cumulative[-1] / 10_000)
            fixes.append(Fix(i, START + step * TICK_S, lat, lon, 150.0))
        engine.add_fixes(fixes)
        out = engine.tick(START + step * TICK_S + 0.5)
    states, field = dict(out.changed), dict(out.field)
    race = {"id": 1, "name": "Test race", "start": START, "course_url": "/course/1/"}
    meta = {
        "seq": out.seq,
        "t": out.t,
        "leaders": out.leaders,
        "race": {"athletes": athletes, "field_interval": out.field_interval},
    }
    mirror = RaceMirror()
    mirror.reset(RaceState(meta=meta, states=states, field=field, posts=[]))
    snapshot, _ = mirror.snapshot(race, [], None)
    roster = [[i, str(i), f"Test Athlete {i:05d}", "M40", "M"] for i in range(1, athletes + 1)]
    leaders = ",".join(states[a] for a in out.leaders)
    tick = f'{{"type":"tick","seq":{out.seq + 1},"t":{out.t + 1},"athletes":[{leaders}]}}'
    return {
        "protocol snapshot (whole field)": snapshot.encode(),
        "field.json": field_json(meta, field),
        "roster.json": roster_json(roster),
        "tick (the leaders' states)": tick.encode(),
    }


def parse_ms(data: bytes, seconds: float = 1.0) -> float:
    """Milliseconds of one ``orjson.loads`` of ``data`` (the best of five runs)."""
    best = float("inf")
    for _ in range(5):
        runs, started = 0, time.process_time()
        while (elapsed := time.process_time() - started) < seconds / 5:
            orjson.loads(data)
            runs += 1
        best = min(best, elapsed / runs)
    return best * 1000


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--athletes", type=int, default=5000)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args(argv)
    from pace.daphne_patches.gctune import tune_for_server

    reads = race_reads(args.athletes)
    tune_for_server()  # as the loaders (bench/live_client.py)
    rows = {
        name: {"bytes": len(data), "parse_ms": round(parse_ms(data), 3)}
        for name, data in reads.items()
    }
    print(f"What a spectator parses at {args.athletes} athletes (orjson, CPU time)")
    for name, row in rows.items():
        print(f"  {name:<34} {row['bytes']:>10,} bytes {row['parse_ms']:>9.3f} ms")
    result = {"benchmark": "client_parse", "athletes": args.athletes, "reads": rows}
    if args.output:
        args.output.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pace.settings")
    django.setup()
    main()
