"""Race-day pages on a slow phone: first paint, time to live and live traffic (issue 18).

``python -m bench.pages`` (``make bench BENCH=pages``):

1. recreates the PostgreSQL database ``pace_bench_pages`` (refuses a name without
   "bench"), migrates it, and collects the static files into a temporary
   ``STATIC_ROOT`` (WhiteNoise's compressed manifest storage, as production builds it);
   Redis db 3 under the key prefix ``pacebenchpages`` (deleted before and after).
   Without PostgreSQL or Redis (``--services no``, or ``auto`` when either does not
   answer) it runs the embedded default instead: SQLite in a temporary directory, one
   daphne process with its tickers inside, in-memory channel layer;
2. starts Pace as in production: ``--web`` daphne processes for the pages on one
   listening socket and ``--live`` for WebSockets and OsmAnd on another, the phone under
   test reaching them through a proxy that routes by path as production's does
   (``bench/pathproxy.py``; the simulated athletes connect to the live processes),
   ``DEBUG=0``, and one ``manage.py run_tickers``;
3. per race size (``--sizes``, 60, 1,000 and 5,000 athletes): a fresh test race
   (``create_test_race``, PROTOCOL.md §4) driven by simulated athletes (``bench.live``'s,
   one fix a second each, over ``/ws/track/``), then a phone: Chromium at 390 x 844,
   400 kbps down and up, 400 ms latency, CPU 4x slower (CDP), opens ``/live/EVENT/RACE/``
   with an empty cache, waits until it is live, counts the WebSocket's bytes for
   ``--live-seconds`` (60, rounded up to whole field intervals: a field frame comes once
   an interval, so shorter windows held one more or one fewer by chance), then opens it
   again in a new tab (warm cache);
4. the tracker page ``/track/?token=…`` and, when it answers, the embed
   ``/embed/EVENT/RACE/``, cold and warm, on the last race;
5. prints a table and writes ``bench/results/pages.json``.

Targets (issue 18): first paint < 1 s, live < 2.5 s, live traffic <= 5 KB/s a spectator.
See bench/README.md, "Race-day pages on a slow phone".
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.client
import json
import multiprocessing as mp
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.http import clear_redis, collectstatic, recreate_database, run, server_env, write_json
from bench.live import Procs, fetch_course, wait_http
from bench.live_report import _git_head
from bench.pages_browser import Profile, launch, open_phone, visit
from bench.pages_report import TARGETS, print_table, verdicts
from bench.pathproxy import PathProxy
from bench.procstat import machine_busy
from bench.servers import DAPHNE, HOST, PY, ROOT, log, run_until_stopped
from pace.lib.chromium import CHROMIUM, chromium_args

RESULTS = ROOT / "bench" / "results" / "pages.json"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/pace_bench_pages"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/3"
KEY_PREFIX = "pacebenchpages"
# The browser tests' flags; no host name resolves (the pages are on 127.0.0.1).
CHROMIUM_ARGS = chromium_args(HOST)


# --- services and environment -------------------------------------------------------------


def _answers(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or HOST, parts.port or default_port), 2):
            return True
    except OSError:
        return False


def use_services(args: argparse.Namespace) -> bool:
    if args.services == "no":
        return False
    up = _answers(args.database_url, 5432) and _answers(args.redis_url, 6379)
    if args.services == "yes" and not up:
        raise SystemExit(f"PostgreSQL ({args.database_url}) or Redis ({args.redis_url}) is down")
    return up


def bench_env(args: argparse.Namespace, services: bool, tmp: Path) -> dict[str, str]:
    # The simulated athletes all connect from this machine: no per-IP socket limits.
    extra = {
        "STATIC_ROOT": str(tmp / "static"),
        "RATE_LIMIT_WS_CONNECT_IP": "",
        "TRACKING_MAX_SOCKETS_PER_IP": "",
    }
    if services:
        return server_env(
            database_url=args.database_url, redis_url=args.redis_url, key_prefix=KEY_PREFIX,
            EMBEDDED_TICKERS="0", EMBEDDED_SCHEDULER="0", DB_POOL="1", **extra,
        )  # fmt: skip
    env = server_env(
        database_url=f"sqlite:///{tmp / 'pace.sqlite3'}", redis_url="", key_prefix=KEY_PREFIX,
        EMBEDDED_TICKERS="1", EMBEDDED_SCHEDULER="0", **extra,
    )  # fmt: skip
    env.pop("REDIS_URL")
    return env


def prepare(args: argparse.Namespace, env: dict[str, str], services: bool) -> list[str]:
    warnings: list[str] = []
    if services:
        log(f"recreating database {urlsplit(args.database_url).path.lstrip('/')}, migrating")
        recreate_database(args.database_url)  # refuses a name without "bench"
        clear_redis(args.redis_url, KEY_PREFIX)
    else:
        log("embedded default (SQLite, in-process tickers): migrating")
    run([PY, "manage.py", "migrate", "--noinput", "-v", "0"], env, "migrate")
    log(f"collectstatic into {env['STATIC_ROOT']}")
    collectstatic(env, warnings)
    return warnings


def start_pace(
    args: argparse.Namespace, env: dict[str, str], services: bool, logdir: Path
) -> tuple[Procs, Procs | None]:
    """The web processes (pages, one listening socket) and, with ``--live``, the live
    processes (sockets and OsmAnd, a listening socket of their own), as production's proxy
    routes them (``deploy/Caddyfile``); the tickers beside them."""
    web = Procs(logdir)
    for i in range(args.web if services else 1):  # embedded: the tickers live in the one
        web.start(f"daphne{i}", _daphne(web), env)
    live = Procs(logdir) if services and args.live else None
    if live is not None:
        for i in range(args.live):
            live.start(f"live{i}", _daphne(live), env)
    if services:
        web.start("ticker", [PY, "manage.py", "run_tickers"], env)
    for procs in filter(None, (web, live)):
        wait_http(procs.port, "/readyz", procs)
    time.sleep(2.0)  # every daphne process imports Django before it accepts
    return web, live


def _daphne(procs: Procs) -> list[str]:
    return [DAPHNE, "--fd", str(procs.sock.fileno()), "-v", "0", "pace.asgi:application"]


def new_race(env: dict[str, str], athletes: int) -> dict[str, Any]:
    """A fresh test race of ``athletes`` (the previous one deleted: its slug changes, so no
    cached page of it is served)."""
    run([PY, "manage.py", "delete_test_races"], env, "delete_test_races")
    out = run(
        [PY, "manage.py", "create_test_race", "--athletes", str(athletes), "--json"],
        env,
        "create_test_race",
    )
    race: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return race


def get_status(port: int, path: str) -> int:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


# --- simulated athletes -------------------------------------------------------------------------


def drive_athletes(cfg: Any, conn: Any) -> None:
    """Process entry: ``cfg.athletes`` send a fix a second (``bench.live_client.Loader``,
    the live bench's phones) until the parent says stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us
    with contextlib.suppress(ImportError, ValueError, OSError):
        import resource

        _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    import uvloop

    from bench.live_client import Loader

    uvloop.run(Loader(cfg, conn).run())


class Athletes:
    """The simulated athletes of one race, in a process of their own."""

    def __init__(self, port: int, race: dict[str, Any], course: list[list[float]], rate: float):
        from bench.live_client import LoaderConfig

        rate = max(1.0, rate)
        athletes = [
            {"id": a["id"], "token": a["token"], "at": i / rate}
            for i, a in enumerate(race["athletes"])
        ]
        now = time.time()
        cfg = LoaderConfig(
            index=0, host=HOST, port=port, source="127.0.0.2", race_id=race["race_id"],
            athletes=athletes, all_ids=[a["id"] for a in athletes], spectators_at=[],
            sample=0.0, follows=0, course=course, start_at=now + 1.0,
            connect_concurrency=32, ramp_end=now + len(athletes) / rate + 60.0, seed=1,
        )  # fmt: skip
        ctx = mp.get_context("spawn")  # Playwright's threads are running: no fork
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=drive_athletes, args=(cfg, child), daemon=True)
        self.proc.start()

    def wait_connected(self, timeout: float) -> dict[str, Any]:
        if not self.conn.poll(timeout):
            raise RuntimeError(f"athletes not connected within {timeout:g} s")
        ready: dict[str, Any] = self.conn.recv()  # {"phase": "connected", "athletes": n, ...}
        return {"connected": ready["athletes"], "refusals": ready.get("refusals", {})}

    def stop(self) -> dict[str, Any]:
        done: dict[str, Any] = {}
        with contextlib.suppress(OSError, EOFError):
            now = time.time()  # no window of the live bench's own: stop now
            self.conn.send({"measure_from": now, "end": now, "ack_grace": 2.0})
            if self.conn.poll(30):
                msg = self.conn.recv()
                stats = msg.get("stats", {})
                done = {
                    "fixes_sent": stats.get("fixes_sent"),
                    "errors": stats.get("athlete_errors"),
                    "refusals": msg.get("refusals"),
                }
        self.proc.join(10)
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join(5)
        return done


# --- one race size ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Ports:
    """Where each client goes: ``web`` the web processes (pages; the bench's own
    requests), ``live`` the simulated phones' sockets, ``phone`` the phone under test
    (production's proxy, or the one pool)."""

    web: int
    live: int
    phone: int


def measure_live(
    args: argparse.Namespace, browser: Any, profile: Profile, base: str, race: dict[str, Any]
) -> dict[str, Any]:
    url = f"{base}/live/{race['event_slug']}/{race['race_slug']}/"
    context = open_phone(browser, profile)
    try:
        cold = visit(
            context, url, profile, live=True, live_timeout_s=args.live_timeout,
            ws_seconds=args.live_seconds,
        )  # fmt: skip
        warm = visit(context, url, profile, live=True, live_timeout_s=args.live_timeout)
    finally:
        context.close()
    return {"url": url, "cold": cold, "warm": warm}


def server_times(port: int, path: str, stop: threading.Event, least: int = 10) -> dict[str, Any]:
    """The server's own time for ``path`` under the load, without the phone's network:
    GETs (unthrottled, a new connection each, 0.5 s apart: few enough to add little load)
    until ``stop`` is set and at least ``least`` are done, each timed to its response's
    first byte (ms). Run while the phone visits the page: tells a slow server from a slow
    network when a first paint is late."""
    times: list[float] = []
    while len(times) < least or not stop.is_set():
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        try:
            t = time.perf_counter()
            conn.request("GET", path, headers={"Accept-Encoding": "gzip, br"})
            resp = conn.getresponse()
            times.append((time.perf_counter() - t) * 1000)
            resp.read()
        finally:
            conn.close()
        time.sleep(0.5)
    times.sort()
    n = len(times)
    return {
        "n": n,
        "p50": round(times[n // 2], 1),
        "p90": round(times[int(n * 0.9)], 1),
        "max": round(times[-1], 1),
    }


def measure_other(
    browser: Any, profile: Profile, base: str, path: str, port: int
) -> dict[str, Any]:
    """First paint and bytes of a page (no ``pace:live`` mark), cold then warm, and the
    server's own time for it meanwhile (``server_times``)."""
    stop = threading.Event()
    probe: dict[str, Any] = {}
    thread = threading.Thread(
        target=lambda: probe.update(server_times(port, path, stop)), daemon=True
    )
    thread.start()
    context = open_phone(browser, profile)
    try:
        cold = visit(context, base + path, profile, live=False)
        warm = visit(context, base + path, profile, live=False)
    finally:
        context.close()
        stop.set()
        thread.join(60)
    return {"url": base + path, "cold": cold, "warm": warm, "server_ms": probe or None}


def run_size(
    args: argparse.Namespace,
    env: dict[str, str],
    ports: Ports,
    browser: Any,
    profile: Profile,
    n: int,
    last: bool,
) -> dict[str, Any]:
    t = time.monotonic()
    port = ports.web
    race = new_race(env, n)
    course = fetch_course(port, race["course_url"])
    log(f"race of {n} athletes ({time.monotonic() - t:.1f} s): connecting them")
    athletes = Athletes(ports.live, race, course, args.connect_rate)
    out: dict[str, Any] = {"athletes": n, "race_id": race["race_id"]}
    try:
        ready = athletes.wait_connected(n / args.connect_rate + 120)
        out["athletes_connected"] = ready["connected"]
        time.sleep(args.settle)  # every athlete has sent fixes and been in a tick
        log(f"{ready['connected']} athletes sending; the phone opens the live page")
        base = f"http://{HOST}:{ports.phone}"
        # Race day: thousands open the page, so it is in the page cache: prime it.
        get_status(port, f"/live/{race['event_slug']}/{race['race_slug']}/")
        out["live"] = measure_live(args, browser, profile, base, race)
        if last and "track" in args.pages:
            token = race["athletes"][0]["token"]
            log("the tracker page")
            out["track"] = measure_other(browser, profile, base, f"/track/?token={token}", port)
        embed = f"/embed/{race['event_slug']}/{race['race_slug']}/"
        if last and "embed" in args.pages and get_status(port, embed) == 200:
            log("the embed page")
            get_status(port, embed)  # cached, as for the live page
            out["embed"] = measure_other(browser, profile, base, embed, port)
    finally:
        out["athletes_run"] = athletes.stop()
    return out


# --- main ---------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.pages", description=__doc__.split("\n")[0])
    p.add_argument(
        "--sizes",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[60, 1000, 5000],
        help="athletes per race, comma list (60,1000,5000)",
    )
    p.add_argument(
        "--pages",
        type=lambda s: set(s.split(",")),
        default={"live", "track", "embed"},
        help="live,track,embed (all three; track and embed on the last race)",
    )
    p.add_argument(
        "--live-seconds", type=float, default=60.0,
        help="WebSocket bytes window (60; rounded up to whole field intervals of the race)",
    )  # fmt: skip
    p.add_argument("--live-timeout", type=float, default=60.0, help="wait for live at most (60)")
    p.add_argument("--settle", type=float, default=5.0, help="seconds of fixes before the page")
    p.add_argument("--connect-rate", type=float, default=250.0, help="athletes connecting a second")
    p.add_argument("--web", type=int, default=1, help="daphne processes for pages (1)")
    p.add_argument(
        "--live", type=int, default=2,
        help="daphne processes for WebSockets and OsmAnd (2), behind a proxy routing by path "
        "as production's; 0: one pool of --web processes for everything",
    )  # fmt: skip
    p.add_argument("--latency", type=float, default=400.0, help="ms added per request (400)")
    p.add_argument("--kbps", type=float, default=400.0, help="down and up, kbit/s (400)")
    p.add_argument("--cpu", type=float, default=4.0, help="CPU slowdown (4)")
    p.add_argument("--no-throttle", action="store_true", help="the page at full speed")
    p.add_argument(
        "--services",
        choices=("auto", "yes", "no"),
        default="auto",
        help="PostgreSQL + Redis (yes), the embedded default (no), or yes when both answer",
    )
    p.add_argument("--chromium", default=CHROMIUM)
    p.add_argument("--output", type=Path, default=RESULTS)
    p.add_argument(
        "--database-url", default=os.environ.get("BENCH_PAGES_DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    p.add_argument(
        "--redis-url", default=os.environ.get("BENCH_PAGES_REDIS_URL", DEFAULT_REDIS_URL)
    )
    return p.parse_args(argv)


def bench(args: argparse.Namespace, stack: contextlib.ExitStack) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    started = time.monotonic()
    services = use_services(args)
    tmp = Path(tempfile.mkdtemp(prefix="pace-pages-"))
    stack.callback(shutil.rmtree, tmp, True)
    env = bench_env(args, services, tmp)
    busy_before = machine_busy()
    log(f"machine before: {busy_before[0]}% CPU busy, load average {busy_before[1]}")
    warnings = prepare(args, env, services)
    if not services:
        warnings.append("embedded default (SQLite, in-process tickers), not production's services")
    logdir = Path(tempfile.mkdtemp(prefix="pace-pages-logs-"))
    procs, live = start_pace(args, env, services, logdir)
    stack.callback(procs.stop)
    ports = Ports(web=procs.port, live=procs.port, phone=procs.port)
    proxy = None
    if live is not None:
        stack.callback(live.stop)
        proxy = PathProxy(HOST, procs.port, live.port)
        ports = Ports(web=procs.port, live=live.port, phone=proxy.start())
        stack.callback(proxy.stop)
    if services:
        stack.callback(clear_redis, args.redis_url, KEY_PREFIX)
    log(f"Pace up on port {ports.phone} ({'services' if services else 'embedded'}); logs {logdir}")
    profile = Profile(args.latency, args.kbps, args.cpu, not args.no_throttle)
    playwright = stack.enter_context(sync_playwright())
    browser = launch(playwright, args.chromium, CHROMIUM_ARGS)
    stack.callback(browser.close)
    runs = []
    for i, n in enumerate(args.sizes):
        try:
            runs.append(run_size(args, env, ports, browser, profile, n, i == len(args.sizes) - 1))
        except Exception as exc:  # the other sizes' figures still count
            log(f"race of {n} failed: {exc!r}")
            warnings.append(f"race of {n} failed: {str(exc)[:300]}")
        for pool in filter(None, (procs, live)):
            if bad := pool.check():
                warnings.append(f"{bad} during the race of {n}")
    busy_after = machine_busy()
    names = [*procs.procs, *(live.procs if live else ())]
    for name in names:
        text = (logdir / f"{name}.log").read_text(errors="replace")
        if n_tb := text.count("Traceback"):
            warnings.append(f"{name}: {n_tb} tracebacks in {logdir / name}.log")
    report = {
        "benchmark": "pages",
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": _git_head(),
        "targets": TARGETS,
        "profile": profile.describe() | {"viewport": "390x844 @3x, mobile"},
        "config": {
            "sizes": args.sizes,
            "live_seconds": args.live_seconds,
            "topology": (
                f"{args.web} x daphne for pages + {args.live} x daphne for WebSockets and "
                "OsmAnd (a proxy routing by path, as production's) + run_tickers, PostgreSQL, "
                "Redis"
                if args.live
                else f"{args.web} x daphne --fd + run_tickers, PostgreSQL, Redis"
            )
            if services
            else "1 x daphne with embedded tickers, SQLite, in-memory layers",
            "static": "collectstatic into a temporary STATIC_ROOT, WhiteNoise "
            "CompressedManifestStaticFilesStorage, DEBUG=0",
        },
        "machine": {
            "cpus": os.cpu_count(),
            "busy_before_pct": busy_before[0],
            "load_average_before": busy_before[1],
            "busy_after_pct": busy_after[0],
            "load_average_after": busy_after[1],
        },
        "runs": runs,
        # The phone's live connections through the proxy, in order (see PathProxy).
        "proxy_live_connections": proxy.live_timings if proxy is not None else None,
        "warnings": warnings,
        "elapsed_s": round(time.monotonic() - started, 1),
    }
    report["verdicts"] = verdicts(report)
    return report


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report = run_until_stopped(bench, args)
    if report is None:
        return 130
    print_table(report)
    write_json(report, args.output)
    log(f"wrote {args.output}")
    for w in report["warnings"]:
        log("WARNING: " + w)
    return 0


if __name__ == "__main__":
    sys.exit(main())
