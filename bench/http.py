"""HTTP benchmark: marketplace and event pages served by daphne with PostgreSQL and Redis.

``make bench`` runs ``python -m bench.http``. It

1. recreates the PostgreSQL database ``pace_bench``, migrates it and creates
   1,000 published events (``bench.seed``), in subprocesses with the bench
   environment (DEBUG off, Redis db 1 under its own key prefix);
2. runs ``collectstatic`` and starts N daphne processes sharing one listening
   socket (opened here, handed over with ``--fd``), and waits for ``/readyz``;
3. drives 50 closed-loop keep-alive clients (``bench.loadgen``, in several
   processes) for a fixed time per scenario: ``floor`` (``/healthz``, what the
   server stack alone costs), ``cold`` (every URL never seen before, so
   nothing comes from the page cache) and ``cached`` (every URL cached first)
   over a mix of home, list (filtered, paginated), event and course URLs;
4. prints a table and writes ``bench/results/http.json``.

Every process it starts is stopped on exit, Ctrl-C or error; the only things it
leaves are the ``pace_bench`` database (recreated on the next run) and
``var/staticfiles``. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bench.http_report import build_report, print_table
from bench.http_scenarios import (
    DB_MODES,
    KEY_PREFIX,
    PAGE_CACHE_SECONDS,
    RESULTS_MIX,
    TARGET_P95_MS,
    fetch_all,
    run_scenarios,
    url_mix,
)
from bench.procstat import machine_busy
from bench.servers import HOST, PY, ROOT, Servers, log, run_until_stopped

RESULTS = ROOT / "bench" / "results" / "http.json"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/pace_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/1"
# Share of requests per kind of URL.
MIX = {"home": 0.10, "list": 0.35, "event": 0.45, "course": 0.10}


# --- environment and setup ----------------------------------------------------------


def default_db_mode() -> str:
    return "pool" if importlib.util.find_spec("psycopg_pool") else "per-request"


def server_env(
    *, database_url: str, redis_url: str, key_prefix: str, **extra: str
) -> dict[str, str]:
    """The environment of a benchmarked Pace process (production settings, bench services)."""
    drop = ("PYTEST_XDIST_WORKER", "DJANGO_SETTINGS_MODULE", "PAGE_CACHE_SECONDS", "DB_POOL",
            "EMBEDDED_TICKERS")  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(
        SECRET_KEY="pace-bench-only-not-a-secret-7d1e0c",
        DEBUG="0",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        ALLOWED_HOSTS=HOST,
        MAP_TILE_URL="",
        CACHE_KEY_PREFIX=key_prefix,
        LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="pace.settings",
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.update(extra)
    return env


def bench_env(args: argparse.Namespace) -> dict[str, str]:
    return server_env(
        database_url=args.database_url, redis_url=args.redis_url, key_prefix=KEY_PREFIX,
        PAGE_CACHE_SECONDS=str(PAGE_CACHE_SECONDS), DJANGO_SETTINGS_MODULE=args.settings,
        **DB_MODES[args.db],
    )  # fmt: skip


def run(cmd: list[str], env: dict[str, str], what: str) -> str:
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        raise RuntimeError(f"{what} failed (exit {proc.returncode})")
    return proc.stdout


def recreate_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if "bench" not in name:
        raise SystemExit(f"refusing to drop database {name!r}: its name must contain 'bench'")
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def django_on_fresh_database(
    *, database_url: str, redis_url: str, key_prefix: str, env: dict[str, str] | None = None
) -> None:
    """This process's Django on a dropped and recreated bench database, migrated, with the
    bench's Redis keys cleared (``env``: more settings' variables)."""
    os.environ.update(
        server_env(database_url=database_url, redis_url=redis_url, key_prefix=key_prefix)
        | {"DJANGO_SETTINGS_MODULE": "pace.settings", "LOG_LEVEL": "WARNING"}
        | (env or {})
    )
    recreate_database(database_url)
    clear_redis(redis_url, key_prefix)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)


def clear_redis(url: str, prefix: str = KEY_PREFIX) -> int:
    """Delete the bench's keys (its own prefix, in its own Redis db)."""
    import redis

    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    for i in range(0, len(keys), 500):
        client.unlink(*keys[i : i + 500])
    client.close()
    return len(keys)


COLLECTSTATIC_WITHOUT_SOURCEMAPS = """
import django
django.setup()
from django.contrib.staticfiles.storage import ManifestStaticFilesStorage as M
M.patterns = tuple(
    (ext, tuple(p for p in pats if "sourceMappingURL" not in str(p))) for ext, pats in M.patterns
)
from django.core.management import call_command
call_command("collectstatic", interactive=False, verbosity=0)
"""


def collectstatic(env: dict[str, str], warnings: list[str]) -> None:
    cmd = [PY, "manage.py", "collectstatic", "--noinput", "-v", "0"]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if proc.returncode == 0:
        return
    if "sourceMappingURL" not in proc.stderr and ".map" not in proc.stderr:
        sys.stderr.write(proc.stderr[-4000:])
        raise RuntimeError("collectstatic failed")
    lines = [ln for ln in proc.stderr.splitlines() if "could not be found" in ln]
    why = (lines[-1] if lines else proc.stderr.strip().splitlines()[-1]).strip()[:300]
    warnings.append(
        f"collectstatic fails: {why} The bench collected the static files without rewriting "
        "sourceMappingURL comments; production builds (Dockerfile) fail the same way until "
        "the .map file is shipped or the comment dropped."
    )
    log("WARNING: " + warnings[-1])
    run([PY, "-c", COLLECTSTATIC_WITHOUT_SOURCEMAPS], env, "collectstatic (no source maps)")


READ_DATA = """
import json, django
django.setup()
from bench.seed_results import results_data
from events.models import Course, Event, Race, RaceCategory
events = Event.objects.published()
print(json.dumps({
    "events": events.count(), "races": Race.objects.count(),
    "categories": RaceCategory.objects.count(),
    "courses": {str(pk): pk for pk in Course.objects.values_list("pk", flat=True)},
    "slugs": list(events.values_list("slug", flat=True)),
    "sports": sorted(set(events.values_list("sport", flat=True))),
    "countries": sorted(set(events.values_list("country", flat=True))),
} | results_data()))
"""


def prepare(args: argparse.Namespace, env: dict[str, str], warnings: list[str]) -> dict[str, Any]:
    t = time.monotonic()
    migrate = [PY, "manage.py", "migrate", "--noinput", "-v", "0"]
    if args.reuse_db:
        run(migrate, env, "migrate")
        data = json.loads(run([PY, "-c", READ_DATA], env, "reading data").splitlines()[-1])
    else:
        log(f"recreating database {urlsplit(args.database_url).path.lstrip('/')}, migrating")
        recreate_database(args.database_url)
        run(migrate, env, "migrate")
        log(f"creating {args.events} events")
        out = run([PY, "-m", "bench.seed", str(args.events)], env, "seed")
        data = json.loads(out.strip().splitlines()[-1])
        log(f"timing {args.results_races} races of {args.results_athletes} athletes, official")
        cmd = [PY, "-m", "bench.seed_results", str(args.results_races), str(args.results_athletes)]
        data |= json.loads(run(cmd, env, "results seed").strip().splitlines()[-1])
    log("collectstatic")
    collectstatic(env, warnings)
    data["setup_s"] = round(time.monotonic() - t, 1)
    return data


def keep_earlier(report: dict[str, Any], path: Path) -> None:
    """Carry over the scenarios of ``path`` this run did not run, under
    ``earlier_scenarios`` with the date of their run: a run of some scenarios (the
    results pages' alone) leaves the others' last figures in the file."""
    try:
        old = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    ran = {s["name"] for s in report["scenarios"]}
    earlier = [s | {"created": old["created"]} for s in old.get("scenarios", [])]
    earlier += old.get("earlier_scenarios", [])
    seen: set[str] = set(ran)
    report["earlier_scenarios"] = []
    for sc in earlier:
        if sc["name"] not in seen:
            seen.add(sc["name"])
            report["earlier_scenarios"].append(sc)


def write_json(report: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(report, indent=2) + "\n")
    tmp.replace(path)


# --- main ---------------------------------------------------------------------------------


def parse_mix(text: str) -> dict[str, float]:
    mix = {k: 0.0 for k in MIX}
    for part in text.split(","):
        kind, _, share = part.partition("=")
        if kind.strip() not in mix:
            raise argparse.ArgumentTypeError(f"unknown kind {kind!r}; kinds: {', '.join(MIX)}")
        mix[kind.strip()] = float(share)
    return mix


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.http", description=__doc__.split("\n")[0])
    p.add_argument("--clients", type=int, default=50, help="concurrent connections (50)")
    p.add_argument("--duration", type=float, default=15.0, help="measured seconds per scenario")
    p.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds before")
    p.add_argument("--servers", type=int, default=2, help="daphne processes (2)")
    p.add_argument("--loaders", type=int, default=2, help="load generator processes (2)")
    p.add_argument("--events", type=int, default=1000)
    p.add_argument("--results-races", type=int, default=3, help="races with results (3)")
    p.add_argument("--results-athletes", type=int, default=3000, help="entries a race (3,000)")
    p.add_argument(
        "--db",
        choices=sorted(DB_MODES),
        default=default_db_mode(),
        help="database connections: pool (DB_POOL=1, needs psycopg_pool), per-request "
        "(CONN_MAX_AGE=0) or persistent (CONN_MAX_AGE=60); default: pool when installed",
    )
    p.add_argument(
        "--mix",
        type=parse_mix,
        default=dict(MIX),
        help="shares of home, list, event, course, e.g. home=0.1,list=0.35,event=0.45,course=0.1",
    )
    p.add_argument("--port", type=int, default=0, help="0: any free port")
    p.add_argument("--settings", default="pace.settings", help="DJANGO_SETTINGS_MODULE (to try)")
    p.add_argument("--app", default="pace.asgi:application", help="ASGI application (to try)")
    p.add_argument(
        "--scenarios",
        default="floor,cold,served,cached,results-cold,results-served,results-cached",
        help="comma list (all seven; the results- ones over the results pages); served and "
        "cached are held to the target; the output keeps the scenarios a run leaves out "
        "(earlier_scenarios)",
    )
    p.add_argument(
        "--miss-share",
        type=float,
        default=0.01,
        help="share of page requests that miss the cache in the served scenario (0.01: the "
        "~1,150 URLs here, each expiring once a minute under production's PAGE_CACHE_SECONDS "
        "of 60, are 19 misses a second, under 1 %% of what 50 clients request)",
    )
    p.add_argument("--reuse-db", action="store_true", help="keep the database and its data")
    p.add_argument(
        "--identity",
        action="store_true",
        help="clients send no Accept-Encoding (before 2026-12-03 they did not; browsers do)",
    )
    p.add_argument("--output", type=Path, default=RESULTS)
    p.add_argument(
        "--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    p.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL))
    return p.parse_args(argv)


def _loader_init() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops the pool


def bench(args: argparse.Namespace, stack: contextlib.ExitStack) -> dict[str, Any]:
    started = time.monotonic()
    env = bench_env(args)
    warnings: list[str] = []
    if args.db == "per-request" and not importlib.util.find_spec("psycopg_pool"):
        warnings.append(
            "psycopg_pool is not installed: every request opens its own database connection "
            "(CONN_MAX_AGE=0); install psycopg[pool] and set DB_POOL=1 to share connections"
        )
    data = prepare(args, env, warnings)
    urls = url_mix(data)
    clear_redis(args.redis_url)
    stack.callback(clear_redis, args.redis_url)
    before = machine_busy()
    log(f"machine before the load: {before[0]}% CPU busy, load average {before[1]}")
    if before[0] > 20:
        warnings.append(
            f"the machine was {before[0]}% busy before the load (load average {before[1]}): "
            "other jobs compete for the CPUs and inflate the latencies"
        )
    logdir = Path(tempfile.mkdtemp(prefix="pace-bench-"))
    log(f"starting {args.servers} daphne process(es) ({args.db} DB connections); logs: {logdir}")
    servers = Servers(args.servers, args.port, env, logdir, args.app)
    stack.callback(servers.stop)
    servers.wait_ready()
    smoke = [urls[k][0] for k in (*MIX, *RESULTS_MIX)]
    statuses = asyncio.run(fetch_all(servers.port, smoke, connections=1))
    if set(statuses) != {200}:
        raise RuntimeError(f"{smoke} answered {statuses}; daphne log:\n{servers.log_tail()}")
    log(f"daphne ready on {HOST}:{servers.port}")
    pool = mp.get_context("fork").Pool(args.loaders, initializer=_loader_init)
    stack.callback(pool.join)
    stack.callback(pool.terminate)
    scenarios = run_scenarios(args, servers, urls, pool, warnings)
    for p in servers.procs:
        if p.poll() is not None:
            warnings.append(f"daphne {p.pid} exited during the run ({p.returncode})")
    print_table(scenarios)
    return build_report(args, data, urls, scenarios, before, warnings, started)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report = run_until_stopped(bench, args)
    if report is None:
        return 130
    keep_earlier(report, args.output)
    write_json(report, args.output)
    verdict = ", ".join(
        f"{k} {'PASS' if v else 'FAIL'}" for k, v in report["pass_by_scenario"].items()
    )
    log(
        f"p95 < {TARGET_P95_MS:g} ms on pages: {verdict or 'no page scenario'}; wrote {args.output}"
    )
    for w in report["warnings"]:
        log("WARNING: " + w)
    return 0


if __name__ == "__main__":
    sys.exit(main())
