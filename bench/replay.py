"""Replay benchmark: a 10K of 5,000 athletes, replayed from its stored positions.

``make bench`` (or ``BENCH=replay make bench``) runs ``python -m bench.replay``. It
recreates the database ``pace_bench_replay``, migrates it, creates the test race with
N athletes (``create_test_race``'s 10 km loop) run yesterday, and stores their positions
(one fix every 10 s, finish times from 17 to 100 minutes: about 2 million rows,
``tracking.sim.pastrace``). Then it measures:

- **build**: the replay built from the database (``tracking.web.replaydata.replay_build``:
  one grouped query, projection on the course, delta encoding, gzip), cold, repeated;
  and its parts (the query alone);
- **bytes**: the JSON and what is sent (gzip), per athlete;
- **served**: a request of the replay's data once built (from the cache), and a
  revalidation (304), through the view;
- **decode**: what a browser does with it (``JSON.parse``, the running sums, one board
  sort at mid-race), in node on this machine (a phone is a few times slower).

Prints a table and writes ``bench/results/replay.json``. Target (issue 18): a 5,000-athlete
race loads its replay in seconds. Needs PostgreSQL and Redis as ``bench.http`` does
(``BENCH_REPLAY_DATABASE_URL``, ``BENCH_REDIS_URL``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.http import django_on_fresh_database, write_json
from bench.servers import log

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "replay.json"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/pace_bench_replay"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/1"
KEY_PREFIX = "pacebench-replay"
LINK_MBIT = 20.0  # a phone on 4G, to say what the bytes cost

NODE_DECODE = r"""
const fs = require("fs");
const text = fs.readFileSync(process.argv[2], "utf8");
function undelta(v, s) {
  const o = new Float64Array(v.length);
  let x = 0;
  for (let i = 0; i < v.length; i++) { x += v[i]; o[i] = x / s; }
  return o;
}
const runs = [];
for (let r = 0; r < 3; r++) {
  const t0 = process.hrtime.bigint();
  const doc = JSON.parse(text);
  const tracks = doc.tracks.map(row => ({
    id: row[0], first: row[1],
    dist: undelta(row[2], 1), lat: undelta(row[3], 1e5), lon: undelta(row[4], 1e5),
  }));
  const k = Math.floor(doc.end / 2);
  const at = tracks.map(tr => {
    const i = Math.max(0, Math.min(tr.dist.length - 1, k - tr.first));
    return [tr.id, tr.dist[i]];
  });
  at.sort((a, b) => b[1] - a[1]);
  runs.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
console.log(JSON.stringify({ ms: runs }));
"""


def setup_django(args: argparse.Namespace) -> None:
    django_on_fresh_database(
        database_url=args.database_url, redis_url=args.redis_url, key_prefix=KEY_PREFIX
    )


def seed(athletes: int, every: int) -> dict[str, Any]:
    """The race, run yesterday, with its positions stored."""
    from events.models import Race
    from tracking.models import Position
    from tracking.sim.pastrace import past_race_positions_create
    from tracking.sim.testrace import load_test_race_create

    started = time.perf_counter()
    data = load_test_race_create(athletes=athletes)
    race = Race.objects.select_related("event", "course").get(pk=data["race_id"])
    race.start_time -= dt.timedelta(days=1)
    race.time_limit = dt.timedelta(hours=2)
    race.save()
    stored = past_race_positions_create(race=race, every=every)
    took = time.perf_counter() - started
    assert Position.objects.filter(race=race).count() == stored
    return {"race": race, "positions": stored, "seed_s": round(took, 1)}


def measure_build(race: Any, repeat: int) -> dict[str, Any]:
    from django.core.cache import cache

    from tracking.web.replaydata import positions_stamp, race_stamp, replay_build, sample_rows

    stamp = positions_stamp(race_id=race.pk)
    builds = []
    built = None
    for _ in range(repeat):
        cache.delete_many([f"replay:{race.pk}:latest", f"replay:{race.pk}:blob"])
        built = replay_build(race=race, stamp=stamp)
        builds.append(built.build_seconds)
    assert built is not None
    raw = gzip.decompress(built.gz)
    doc = json.loads(raw)
    started = time.perf_counter()
    rows = sum(
        1
        for _ in sample_rows(
            race_id=race.pk, t0=doc["t0"], step=doc["step"], until=stamp.last_t or doc["t0"]
        )
    )
    query_s = time.perf_counter() - started
    started = time.perf_counter()
    race_stamp(race=race)
    stamp_s = time.perf_counter() - started
    samples = sum(len(row[2]) for row in doc["tracks"])
    return {
        "build": built,
        "raw": raw,
        "report": {
            "step_s": doc["step"],
            "tracks": len(doc["tracks"]),
            "samples": samples,
            "sample_rows_from_db": rows,
            "build_s": [round(b, 2) for b in builds],
            "build_s_median": round(statistics.median(builds), 2),
            "query_s": round(query_s, 2),
            "stamp_query_s": round(stamp_s, 3),
            "json_bytes": len(raw),
            "gzip_bytes": len(built.gz),
            "gzip_bytes_per_athlete": round(len(built.gz) / max(1, len(doc["tracks"])), 1),
            "gzip_bytes_per_sample": round(len(built.gz) / max(1, samples), 2),
            f"transfer_s_at_{LINK_MBIT:g}_mbit": round(len(built.gz) * 8 / (LINK_MBIT * 1e6), 2),
        },
    }


def measure_served(race: Any, repeat: int) -> dict[str, Any]:
    from django.contrib.auth.models import AnonymousUser
    from django.test import RequestFactory

    from tracking.web.replay import replay_data

    factory = RequestFactory(HTTP_HOST=os.environ["ALLOWED_HOSTS"].split(",")[0])
    url = f"/live/{race.event.slug}/{race.slug}/replay/data/"

    def get(**headers: Any) -> tuple[float, Any]:
        request = factory.get(url, **headers)
        request.user = AnonymousUser()
        started = time.perf_counter()
        response = replay_data(request, race.event.slug, race.slug)
        return (time.perf_counter() - started) * 1000, response

    hits, revalidations = [], []
    etag = ""
    for _ in range(repeat * 5):
        ms, response = get(HTTP_ACCEPT_ENCODING="gzip")
        assert response.status_code == 200
        etag = response["ETag"]
        hits.append(ms)
        ms, response = get(HTTP_IF_NONE_MATCH=etag)
        assert response.status_code == 304
        revalidations.append(ms)
    return {
        "cached_hit_ms_median": round(statistics.median(hits), 1),
        "revalidation_304_ms_median": round(statistics.median(revalidations), 1),
    }


def measure_decode(raw: bytes) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "replay.json"
        data.write_bytes(raw)
        script = Path(tmp) / "decode.js"
        script.write_text(NODE_DECODE)
        try:
            done = subprocess.run(
                ["node", str(script), str(data)], capture_output=True, text=True, timeout=120
            )
        except FileNotFoundError:
            return {"decode_ms": None, "note": "node not installed"}
    if done.returncode != 0:
        return {"decode_ms": None, "note": done.stderr[-300:]}
    runs = json.loads(done.stdout)["ms"]
    return {
        "decode_ms": [round(r) for r in runs],
        "decode_ms_median": round(statistics.median(runs)),
    }


def print_table(report: dict[str, Any]) -> None:
    b, s, d = report["build"], report["served"], report["decode"]
    rows = [
        ("athletes (tracks)", f"{report['athletes']:,} ({b['tracks']:,})"),
        ("positions stored", f"{report['positions']:,} (seeded in {report['seed_s']} s)"),
        ("sample step", f"{b['step_s']} s: {b['samples']:,} samples"),
        ("build (cold, median)", f"{b['build_s_median']} s  (runs {b['build_s']})"),
        ("  of which the grouped query", f"{b['query_s']} s ({b['sample_rows_from_db']:,} rows)"),
        ("  stamp query (count, last id)", f"{b['stamp_query_s'] * 1000:.0f} ms"),
        ("JSON", f"{b['json_bytes'] / 1e6:.2f} MB"),
        ("sent (gzip)", f"{b['gzip_bytes'] / 1e6:.2f} MB, {b['gzip_bytes_per_athlete']} B/athlete"),
        (f"transfer at {LINK_MBIT:g} Mbit/s", f"{b[f'transfer_s_at_{LINK_MBIT:g}_mbit']} s"),
        ("served from cache (median)", f"{s['cached_hit_ms_median']} ms"),
        ("revalidated, 304 (median)", f"{s['revalidation_304_ms_median']} ms"),
        ("browser decode (node, median)", f"{d.get('decode_ms_median', '-')} ms"),
    ]
    width = max(len(name) for name, _ in rows)
    print()
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--athletes", type=int, default=5000)
    parser.add_argument("--every", type=int, default=10, help="seconds between stored fixes")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_REPLAY_DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL))
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    load = [round(x, 1) for x in os.getloadavg()]
    log("database and migrations")
    setup_django(args)
    log(f"seeding {args.athletes} athletes")
    seeded = seed(args.athletes, args.every)
    log(f"{seeded['positions']:,} positions stored; building")
    built = measure_build(seeded["race"], args.repeat)
    served = measure_served(seeded["race"], args.repeat)
    decode = measure_decode(built["raw"])
    report = {
        "athletes": args.athletes,
        "fix_every_s": args.every,
        "positions": seeded["positions"],
        "seed_s": seeded["seed_s"],
        "build": built["report"],
        "served": served,
        "decode": decode,
        "environment": {
            "load_average_at_start": load,
            "load_average_at_end": [round(x, 1) for x in os.getloadavg()],
            "python": platform.python_version(),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "database": "PostgreSQL " + args.database_url.rsplit("/", 1)[-1],
            "cache": f"Redis {args.redis_url} (prefix {KEY_PREFIX})",
        },
    }
    print_table(report)
    write_json(report, args.out)
    log(f"written {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
