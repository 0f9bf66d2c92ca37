"""``python -m bench.live`` still runs each scenario end to end (not timed): 20 athletes and
50 spectators against Pace in its production topology (2 daphne + ticker, PostgreSQL,
Redis), so only in the PostgreSQL/Redis pass, each on a database and key prefix of its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCENARIOS = {
    "steady": ["--duration", "4", "--warmup", "1", "--probe", "4"],
    "surge": ["--duration", "3", "--athletes-in", "1", "--spectators-in", "2", "--probe", "0"],
    "restart": ["--duration", "5", "--warmup", "1", "--kill-after", "1", "--restart-after", "1",
                "--probe", "0"],
}  # fmt: skip


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_the_live_benchmark_runs_each_scenario_on_a_tiny_race(scenario, tmp_path):
    db, redis = os.environ.get("DATABASE_URL", ""), os.environ.get("REDIS_URL", "")
    if not db.startswith("postgres") or not redis:
        pytest.skip("needs PostgreSQL and Redis: runs in make test's PostgreSQL/Redis pass")
    parts = urlsplit(db)
    db = urlunsplit(parts._replace(path=f"/pace_bench_smoke_{scenario}"))
    out = tmp_path / "live.json"
    drop = ("DJANGO_SETTINGS_MODULE", "PYTEST_XDIST_WORKER", "DATABASE_URL", "REDIS_URL")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    cmd = [sys.executable, "-m", "bench.live", "--scenario", scenario, "--athletes", "20",
           "--skip-baseline", "--reuse-database",
           "--spectators", "50", "--no-profile", "--ack-grace", "3", "--database-url", db,
           "--redis-url", redis, "--key-prefix", f"pacebenchsmoke{scenario}",
           "--output", str(out), *SCENARIOS[scenario]]  # fmt: skip
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    pace = json.loads(out.read_text())["runs"]["pace"]
    assert pace["client"] == "full"
    # Surge and restart: spectators as the live page (lean snapshot, field.json and
    # roster.json over HTTP, each body decompressed and parsed); steady: protocol clients.
    assert pace["spectators_mode"] == ("protocol" if scenario == "steady" else "page-lean")
    if scenario == "surge":
        http = pace["http"]
        assert http["spectators_with_field"] == 50 and http["field_wait_s"]["p99"] is not None
        assert http["requests"] >= 100 and set(http["status"]) <= {"200", "304"}
    elif scenario == "steady":
        assert pace["http"] is None
    assert pace["served"]["athlete"]["served"] == 20
    assert pace["served"]["spectator"]["served"] == 50
    assert pace["durability"]["acked"] > 0 and pace["durability"]["acked_lost"] == 0
    assert pace["frames_per_s"] > 0 and pace["cost"]["server_us_per_frame"] > 0
    assert f"Live tracking, {scenario}:" in proc.stdout
    if scenario == "steady":
        assert pace["per_connection"]["spectator"]["first_frame_bytes"] > 0
    if scenario == "restart":
        rs = pace["restart"]
        assert rs["killed_clients"] > 0 and rs["other_clients"] > 0
        assert rs["killed_served_again_within_30s"] == rs["killed_clients"]
