"""What the HTTP benchmark asks and measures: its URL mix, one scenario (closed-loop
clients against the servers, latencies, CPU per request) and the scenarios in order."""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode, urlsplit

from bench.loadgen import WorkerConfig, read_response, run_worker
from bench.procstat import cpu_snapshot, db_sessions
from bench.servers import HOST, Servers, log

TARGET_P95_MS = 50.0
# Results pages: a race's list (pages, searches, filters, sorts) and athletes' pages.
RESULTS_KINDS = ("results", "athlete")
RESULTS_MIX = {"results": 0.6, "athlete": 0.4}
RESULTS_PAGE_SIZE = 100  # results.views.PAGE_SIZE
ATHLETES_PER_RACE = 600  # athlete pages in the mix per race, drawn once (priming cost)
PAGE_KINDS = ("home", "list", "event", *RESULTS_KINDS)
# Everything the page cache holds: the pages, and the course GeoJSON their maps load.
CACHED_KINDS = (*PAGE_KINDS, "course")
KEY_PREFIX = "pacebench"
# Longer than production's 60 s so that no page primed for the cached scenario expires
# before it ends: that scenario measures hits, the cold one misses (README: steady state).
PAGE_CACHE_SECONDS = 300
DB_MODES = {
    "pool": {"DB_POOL": "1"},
    "per-request": {"DB_POOL": "0", "DB_CONN_MAX_AGE": "0"},
    "persistent": {"DB_POOL": "0", "DB_CONN_MAX_AGE": "60"},  # docker-compose.yml's value
}


# --- URL mix ---------------------------------------------------------------------------


def url_mix(data: dict[str, Any], page_size: int = 20) -> dict[str, list[str]]:
    """Distinct URLs per kind: every event page, many list pages, every course."""
    rng = random.Random(7)
    pages = max(1, math.ceil(data["events"] / page_size))
    lists = [f"/events/?page={p}" if p > 1 else "/events/" for p in range(1, pages + 1)]
    for sport in data["sports"]:
        lists += [f"/events/?{urlencode({'sport': sport, 'page': p})}" for p in (1, 2, 3)]
    for country in data["countries"]:
        lists += [f"/events/?{urlencode({'country': country, 'page': p})}" for p in (1, 2)]
    for lo, hi in ((0, 12), (10, 25), (20, 50), (40, 100), (90, 250)):
        for p in (1, 2):
            q = {"distance_min": lo, "distance_max": hi, "page": p}
            lists.append(f"/events/?{urlencode(q)}")
    for _ in range(40):
        q = {"sport": rng.choice(data["sports"]), "country": rng.choice(data["countries"])}
        lists.append(f"/events/?{urlencode(q)}")
    return {
        "home": ["/"],
        "list": sorted(set(lists)),
        "event": [f"/events/{slug}/" for slug in data["slugs"]],
        "course": [f"/courses/{pk}/" for pk in sorted(data["courses"].values())],
        **results_urls(data, rng),
    }


def results_urls(data: dict[str, Any], rng: random.Random) -> dict[str, list[str]]:
    """Per timed race: every page of its list, searches, each category (pages 1 and 2), the
    women, four sorts; and ``ATHLETES_PER_RACE`` athletes' pages."""
    lists, athletes = [], []
    for race in data.get("results_races", []):
        base = f"/results/{race['event_slug']}/{race['race_slug']}/"
        pages = max(1, math.ceil(race["listed"] / RESULTS_PAGE_SIZE))
        lists += [base] + [f"{base}?page={p}" for p in range(2, pages + 1)]
        lists += [f"{base}?{urlencode({'q': q})}" for q in data["searches"]]
        for code in race["categories"]:
            lists += [f"{base}?{urlencode({'category': code, 'page': p})}" for p in (1, 2)]
        lists += [f"{base}?sex=F", f"{base}?sex=F&page=2"]
        lists += [f"{base}?sort={key}" for key in ("name", "bib", "-rank", "chip")]
        bibs = race["bibs"]
        athletes += [f"{base}{bib}/" for bib in rng.sample(bibs, min(ATHLETES_PER_RACE, len(bibs)))]
    return {"results": lists, "athlete": athletes}


async def fetch_all(port: int, paths: list[str], connections: int) -> dict[int, int]:
    """GET every path once over a few keep-alive connections; count the statuses."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    for p in paths:
        queue.put_nowait(p)
    statuses: dict[int, int] = {}

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(HOST, port, limit=1 << 20)
        while not queue.empty():
            path = queue.get_nowait()
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n\r\n".encode())
            status, _, close = await read_response(reader)
            statuses[status] = statuses.get(status, 0) + 1
            if close:
                writer.close()
                reader, writer = await asyncio.open_connection(HOST, port, limit=1 << 20)
        writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return statuses


# --- one scenario --------------------------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[max(0, math.ceil(q / 100 * len(sorted_values)) - 1)]


def summarize(lat: list[float], errors: int, duration: float, nbytes: int) -> dict[str, Any]:
    lat = sorted(lat)
    return {
        "requests": len(lat),
        "errors": errors,
        "rps": round(len(lat) / duration, 1),
        "p50_ms": round(percentile(lat, 50), 1),
        "p95_ms": round(percentile(lat, 95), 1),
        "p99_ms": round(percentile(lat, 99), 1),
        "max_ms": round(lat[-1], 1) if lat else float("nan"),
        "mean_ms": round(sum(lat) / len(lat), 1) if lat else float("nan"),
        "mb_per_s": round(nbytes / duration / 1e6, 2),
    }


def _merge(results: list[dict[str, Any]], kinds: list[str]) -> dict[str, dict[str, Any]]:
    merged = {}
    for kind in kinds:
        m: dict[str, Any] = {"lat": [], "errors": 0, "bytes": 0, "statuses": {}}
        for r in results:
            k = r["kinds"][kind]
            m["lat"] += k["latencies_ms"]
            m["errors"] += k["errors"]
            m["bytes"] += k["bytes"]
            for s, n in k["statuses"].items():
                m["statuses"][str(s)] = m["statuses"].get(str(s), 0) + n
        merged[kind] = m
    return merged


def _cpu(
    before: dict[str, float], after: dict[str, float], results: list[dict[str, Any]], n: int
) -> dict[str, Any]:
    cpu: dict[str, Any] = {
        f"{k}_s": round(after[k] - before[k], 2) for k in ("daphne", "postgres", "redis")
    }
    cpu["load_generator_s"] = round(sum(r["cpu_s"] for r in results), 2)
    busy = after["machine_busy"] - before["machine_busy"]
    wall = after["machine_total"] - before["machine_total"]
    cpu["machine_busy_pct"] = round(100 * busy / wall, 1) if wall else None
    # CPU the machine spent on anything else: other jobs make the latencies worse.
    ours = ("daphne_s", "postgres_s", "redis_s", "load_generator_s")
    cpu["other_processes_s"] = round(busy - sum(cpu[k] for k in ours), 2)
    cpu["db_sessions_opened"] = int(after["sessions"] - before["sessions"])
    if n:
        cpu["daphne_ms_per_request"] = round(1000 * cpu["daphne_s"] / n, 2)
        cpu["postgres_ms_per_request"] = round(1000 * cpu["postgres_s"] / n, 2)
    return cpu


def run_scenario(
    name: str,
    description: str,
    args: argparse.Namespace,
    servers: Servers,
    mix: dict[str, tuple[float, list[str]]],
    pool: Any,
    unique: float = 0.0,
    gated: bool = True,
) -> dict[str, Any]:
    log(f"scenario {name}: {args.clients} clients, {args.warmup:g}s warm-up + {args.duration:g}s")
    start_at = time.time() + 1.0
    split = [
        args.clients // args.loaders + (i < args.clients % args.loaders)
        for i in range(args.loaders)
    ]
    cfgs = [
        WorkerConfig(
            host=HOST,
            port=servers.port,
            clients=n,
            mix=mix,
            start_at=start_at,
            warmup_s=args.warmup,
            duration_s=args.duration,
            unique_kinds=frozenset(CACHED_KINDS) if unique else frozenset(),
            unique_share=unique,
            worker_id=i,
            seed=int(start_at),
            accept_gzip=not args.identity,
        )
        for i, n in enumerate(split)
    ]
    dbname = urlsplit(args.database_url).path.lstrip("/")
    with db_sessions(args.database_url) as sessions:
        pending = pool.map_async(run_worker, cfgs)
        measure_from = start_at + args.warmup
        time.sleep(max(0.0, measure_from - time.time()))
        before = cpu_snapshot(servers.pids, dbname) | {"sessions": sessions()}
        time.sleep(max(0.0, measure_from + args.duration - time.time()))
        after = cpu_snapshot(servers.pids, dbname) | {"sessions": sessions()}
        results = pending.get(timeout=args.warmup + args.duration + 120)

    merged = _merge(results, list(mix))
    by_kind = {}
    for kind, m in merged.items():
        by_kind[kind] = summarize(m["lat"], m["errors"], args.duration, m["bytes"])
        by_kind[kind]["statuses"] = m["statuses"]
        by_kind[kind]["pass"] = by_kind[kind]["p95_ms"] < TARGET_P95_MS and not m["errors"]

    def total(kinds: list[str]) -> dict[str, Any]:
        ms = [merged[k] for k in kinds]
        lat = [x for m in ms for x in m["lat"]]
        return summarize(
            lat, sum(m["errors"] for m in ms), args.duration, sum(m["bytes"] for m in ms)
        )

    everything = total(list(mix))
    page_kinds = [k for k in mix if k in PAGE_KINDS]
    pages = total(page_kinds) if page_kinds else None
    return {
        "name": name,
        "description": description,
        "pass": (pages["p95_ms"] < TARGET_P95_MS and not pages["errors"]) if pages else None,
        "gated": gated and pages is not None,
        "pages": pages,
        "all": everything,
        "by_kind": by_kind,
        "cpu": _cpu(before, after, results, everything["requests"]),
    }


# --- scenarios ------------------------------------------------------------------------

FLOOR = (
    "Reference, not a page: GET /healthz (no database, cache or template) through the same "
    "stack: what daphne and the Django middleware alone cost per request on this machine."
)
COLD = (
    "Page cache cold: every home/list/event/course URL carries a query parameter never "
    "requested before (one the page does not use, so the page cache neither serves nor "
    "stores it): each page is queried and rendered, each course encoded."
)
SERVED = (
    "As pages are served: the page cache warm, and a share of the home/list/event/course "
    "requests (--miss-share) carry a never-seen query parameter, so they are rendered "
    "as on a miss (a page whose cache entry expired, a deploy)."
)
CACHED = (
    "Page cache warm: every home/list/event/course URL was requested once just before, so "
    f"every request is a cache hit (PAGE_CACHE_SECONDS={PAGE_CACHE_SECONDS})."
)


def prime(
    servers: Servers,
    urls: dict[str, list[str]],
    warnings: list[str],
    args: argparse.Namespace,
    kinds: Iterable[str],
) -> float:
    """Request every URL of the mix once, so that the page cache holds them all."""
    paths = [p for k in CACHED_KINDS if k in kinds for p in urls[k]]
    t = time.monotonic()
    statuses = asyncio.run(fetch_all(servers.port, paths, connections=8))
    prime_s = time.monotonic() - t
    log(f"primed {len(paths)} URLs in {prime_s:.1f}s: statuses {statuses}")
    if set(statuses) != {200}:
        warnings.append(f"priming returned statuses {statuses}")
    if prime_s + args.warmup + args.duration > PAGE_CACHE_SECONDS:
        warnings.append(
            f"priming took {prime_s:.0f}s: some pages expired from the cache during the scenario"
        )
    return prime_s


def run_scenarios(
    args: argparse.Namespace,
    servers: Servers,
    urls: dict[str, list[str]],
    pool: Any,
    warnings: list[str],
) -> list[dict[str, Any]]:
    """The scenarios asked for, in order; ``results-cold``, ``results-served`` and
    ``results-cached`` are the page ones over the results mix (``RESULTS_MIX``)."""
    scenarios = []
    for name in [s.strip() for s in args.scenarios.split(",") if s.strip()]:
        shares = RESULTS_MIX if name.startswith("results-") else args.mix
        page_mix = {k: (w, urls[k]) for k, w in shares.items() if w > 0}
        kind = name.removeprefix("results-")
        if name == "floor":
            mix = {"healthz": (1.0, ["/healthz"])}
            scenarios.append(run_scenario(name, FLOOR, args, servers, mix, pool))
        elif kind == "cold":
            sc = run_scenario(name, COLD, args, servers, page_mix, pool, unique=1.0, gated=False)
            scenarios.append(sc)
        elif kind in ("cached", "served"):
            prime_s = prime(servers, urls, warnings, args, page_mix)
            if kind == "cached":
                sc = run_scenario(name, CACHED, args, servers, page_mix, pool)
            else:
                sc = run_scenario(name, SERVED, args, servers, page_mix, pool, args.miss_share)
                sc["miss_share"] = args.miss_share
            sc["prime_s"] = round(prime_s, 1)
            scenarios.append(sc)
        else:
            raise SystemExit(f"unknown scenario {name!r}")
    return scenarios
