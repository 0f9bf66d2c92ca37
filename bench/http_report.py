"""The HTTP benchmark's report: the machine it ran on, the table it prints and the JSON it
writes."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import platform
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.http_scenarios import (
    DB_MODES,
    KEY_PREFIX,
    PAGE_CACHE_SECONDS,
    PAGE_KINDS,
    RESULTS_MIX,
    TARGET_P95_MS,
)

# --- report -----------------------------------------------------------------------------


def machine_info(args: argparse.Namespace) -> dict[str, Any]:
    info: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }
    with contextlib.suppress(OSError, IndexError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
        mem = Path("/proc/meminfo").read_text().split("\n", 1)[0].split()[1]
        info["memory_gb"] = round(int(mem) / 1024 / 1024, 1)
    for pkg in ("django", "daphne", "twisted", "psycopg", "psycopg-pool", "redis", "channels"):
        with contextlib.suppress(Exception):
            info[pkg] = version(pkg)
    try:
        import psycopg
        import redis

        with psycopg.connect(args.database_url) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            assert row is not None  # SHOW answers one row
            info["postgresql"] = row[0]
        client = redis.Redis.from_url(args.redis_url)
        info["redis_server"] = client.info("server")["redis_version"]
        client.close()
    except Exception as exc:  # informational only
        info["service_versions_error"] = str(exc)
    return info


def print_table(scenarios: list[dict[str, Any]]) -> None:
    head = (
        f"{'scenario':<14} {'kind':<7} {'requests':>8} {'errors':>6} {'req/s':>7} "
        f"{'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7}  p95<50"
    )
    print()
    print(head)
    print("-" * len(head))
    for sc in scenarios:
        rows = [("pages", sc["pages"], sc["pass"])] if sc["pages"] else []
        rows.append(("all", sc["all"], None))
        if len(sc["by_kind"]) > 1:
            rows += [(k, v, v["pass"]) for k, v in sc["by_kind"].items()]
        for i, (kind, r, ok) in enumerate(rows):
            mark = "" if ok is None else ("PASS" if ok else "FAIL")
            if mark and not sc["gated"]:
                mark += " (worst case, not held)"
            print(
                f"{sc['name'] if i == 0 else '':<14} {kind:<7} {r['requests']:>8} "
                f"{r['errors']:>6} {r['rps']:>7.1f} {r['p50_ms']:>7.1f} {r['p95_ms']:>7.1f} "
                f"{r['p99_ms']:>7.1f} {r['max_ms']:>7.1f}  {mark}"
            )
        c = sc["cpu"]
        print(
            f"{'':<14} CPU s: daphne {c['daphne_s']} ({c.get('daphne_ms_per_request')} ms/req), "
            f"postgres {c['postgres_s']}, redis {c['redis_s']}, load generator "
            f"{c['load_generator_s']}, other processes {c['other_processes_s']}; "
            f"machine busy {c['machine_busy_pct']}%; {c['db_sessions_opened']} DB sessions opened"
        )
        print()


def build_report(
    args: argparse.Namespace,
    data: dict[str, Any],
    urls: dict[str, list[str]],
    scenarios: list[dict[str, Any]],
    before: tuple[float, list[float]],
    warnings: list[str],
    started: float,
) -> dict[str, Any]:
    gated = {s["name"]: s["pass"] for s in scenarios if s["gated"]}
    reported = {s["name"]: s["pass"] for s in scenarios if s["pass"] is not None and not s["gated"]}
    return {
        "benchmark": "http",
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "target": {
            "p95_ms": TARGET_P95_MS,
            "applies_to": list(PAGE_KINDS),
            "clients": args.clients,
            "events": args.events,
        },
        "pass": all(gated.values()),
        "pass_by_scenario": gated,
        "worst_case_not_held_to_target": reported,
        "machine": machine_info(args)
        | {"busy_before_pct": before[0], "load_average_before": before[1]},
        "config": {
            "server": f"{args.servers} x daphne sharing one listening socket, DEBUG off",
            "servers": args.servers,
            "clients": args.clients,
            "load_generator": f"{args.loaders} processes of asyncio HTTP/1.1 keep-alive "
            "clients, closed loop, no think time, "
            + ("no Accept-Encoding" if args.identity else "Accept-Encoding: gzip, bodies inflated"),
            "warmup_s": args.warmup,
            "duration_s": args.duration,
            "mix": args.mix,
            "results_mix": RESULTS_MIX,
            "distinct_urls": {k: len(v) for k, v in urls.items()},
            "database": "PostgreSQL " + urlsplit(args.database_url).path.lstrip("/"),
            "settings": args.settings,
            "app": args.app,
            "db_connections": args.db,
            "db_env": DB_MODES[args.db],
            "cache": f"Redis {args.redis_url} (key prefix {KEY_PREFIX})",
            "page_cache_seconds": PAGE_CACHE_SECONDS,
            "data": {k: data[k] for k in ("events", "races", "categories") if k in data},
            "courses": len(data["courses"]),
            "results_races": [
                {k: v for k, v in race.items() if k != "bibs"}
                for race in data.get("results_races", [])
            ],
            "setup_s": data.get("setup_s"),
        },
        "scenarios": scenarios,
        "warnings": warnings,
        "elapsed_s": round(time.monotonic() - started, 1),
    }
