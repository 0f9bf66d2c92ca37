"""Live tracking benchmark: athletes and spectators over WebSockets, Pace in production topology.

``python -m bench.live`` (``make bench`` runs it after ``bench.http``):

1. recreates the PostgreSQL database ``pace_bench_live`` (refuses a name without
   "bench"), migrates it, ``create_test_race --athletes N --json`` for the tokens;
   Redis db 2 under the key prefix ``pacebenchlive`` (deleted before and after);
2. starts Pace as in production: ``--web`` daphne processes sharing one listening
   socket (``--fd``), ``DEBUG=0``, ``EMBEDDED_TICKERS=0``, ``DB_POOL=1``, and one
   ``manage.py run_tickers`` process;
3. starts load generator processes (``bench.live_client``; each binds its clients
   to its own source address 127.0.0.2, .3, …): N athletes on ``/ws/track/``
   sending one fix a second along the course, S spectators on
   ``/ws/live/RACE_ID/`` each following 5 athletes; a sample of them measures
   fix → screen latency; all count frames, bytes and tick ``seq`` gaps;
4. warm-up, then a measured window; CPU per process from ``/proc``, optionally a
   py-spy profile of one daphne process and of the ticker;
5. after the run checks the database: every acked (athlete, seq) stored exactly once;
6. runs the same load against ``bench.baseline_relay`` (one process, plain
   ``websockets``, fsynced file with group commit) unless ``--skip-baseline``;
7. prints a table and writes ``bench/results/live.json``.

See bench/README.md, "Live tracking benchmark".
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bench.http import clear_redis, recreate_database, run, server_env, write_json
from bench.http_report import machine_info
from bench.live_measure import log
from bench.live_probe import probe_connections
from bench.live_report import TARGETS, _git_head, print_table, verdict
from bench.live_run import Restart, check_db, check_file, run_load
from bench.procstat import client_peers, machine_busy
from bench.servers import DAPHNE, PY, ROOT, stop_processes
from tracking.live.engine import default_field_interval

RESULTS = ROOT / "bench" / "results"
HOST = "127.0.0.1"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/pace_bench_live"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/2"
KEY_PREFIX = "pacebenchlive"


# --- setup ------------------------------------------------------------------------------


def bench_env(args: argparse.Namespace) -> dict[str, str]:
    # Every simulated phone and spectator connects from 127.0.0.1, 25,000 sockets at
    # about 1,300 a second: the per-IP limit on new sockets (ws.connect.ip) is off, and
    # so is the cap on sockets one IP holds open (TRACKING_MAX_SOCKETS_PER_IP).
    return server_env(
        database_url=args.database_url, redis_url=args.redis_url, key_prefix=args.key_prefix,
        EMBEDDED_TICKERS="0", EMBEDDED_SCHEDULER="0", DB_POOL="1",
        RATE_LIMIT_WS_CONNECT_IP="", TRACKING_MAX_SOCKETS_PER_IP="",
        # The page-like spectators' field.json / roster.json, all from a few addresses.
        RATE_LIMIT_LIVE_FIELD_IP="",
    )  # fmt: skip


def prepare(args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    name = urlsplit(args.database_url).path.lstrip("/")
    if args.reuse_database and _database_exists(args.database_url):
        # The race is extended, not recreated: its phones start from the stored last_seq.
        log(f"reusing database {name}, migrating")
    else:
        log(f"recreating database {name}, migrating")
        recreate_database(args.database_url)  # refuses a name without "bench"
    run([PY, "manage.py", "migrate", "--noinput", "-v", "0"], env, "migrate")
    t = time.monotonic()
    out = run(
        [PY, "manage.py", "create_test_race", "--athletes", str(args.athletes), "--json"],
        env,
        "create_test_race",
    )
    race = json.loads(out.strip().splitlines()[-1])
    took = time.monotonic() - t
    log(f"test race {race['race_id']}: {len(race['athletes'])} athletes in {took:.1f}s")
    return race


def _database_exists(url: str) -> bool:
    import psycopg

    parts = urlsplit(url)
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [parts.path.lstrip("/")]
        ).fetchone()
    return row is not None


def fetch_course(port: int, path: str) -> list[list[float]]:
    import http.client

    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    conn.request("GET", path)
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    if resp.status != 200:
        raise RuntimeError(f"GET {path}: {resp.status} {body[:200]!r}")
    return json.loads(body)["geometry"]["coordinates"]


# --- processes ---------------------------------------------------------------------------


class Procs:
    """Server-side processes (daphne, ticker or the baseline relay) on one listening socket."""

    def __init__(self, logdir: Path) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((HOST, 0))
        self.sock.listen(8192)
        self.sock.set_inheritable(True)
        self.port = self.sock.getsockname()[1]
        self.logdir = logdir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.logs: list[Any] = []

    def start(
        self, name: str, cmd: list[str], env: dict[str, str], log_name: str = ""
    ) -> subprocess.Popen[bytes]:
        logf = open(self.logdir / f"{log_name or name}.log", "wb")  # noqa: SIM115
        self.logs.append(logf)
        p = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env,
            pass_fds=(self.sock.fileno(),),
            stdout=logf,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs[name] = p
        return p

    def log_tail(self, name: str, chars: int = 3000) -> str:
        return (self.logdir / f"{name}.log").read_text(errors="replace")[-chars:]

    def check(self) -> list[str]:
        return [
            f"{n} exited ({p.returncode})" for n, p in self.procs.items() if p.poll() is not None
        ]

    def stop(self) -> None:
        stop_processes(self.procs.values(), self.logs, self.sock)


def wait_http(port: int, path: str, procs: Procs, timeout: float = 60.0) -> None:
    import http.client

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if bad := procs.check():
            raise RuntimeError(f"{bad}:\n{procs.log_tail(next(iter(procs.procs)))}")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=5)
            conn.request("GET", path)
            status = conn.getresponse().status
            conn.close()
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{path} not ready")


# --- Pace and baseline ------------------------------------------------------------------------


def run_pace(
    args: argparse.Namespace, env: dict[str, str], race: dict[str, Any], logdir: Path
) -> dict[str, Any]:
    dbname = urlsplit(args.database_url).path.lstrip("/")
    log(
        f"cleared {clear_redis(args.redis_url, args.key_prefix)} Redis keys under {args.key_prefix}"
    )
    procs = Procs(logdir)
    try:
        fd = procs.sock.fileno()
        daphne = [DAPHNE, "--fd", str(fd), "-v", "0", "pace.asgi:application"]
        for i in range(args.web):
            procs.start(f"daphne{i}", daphne, env)
        procs.start("ticker", [PY, "manage.py", "run_tickers"], env)
        wait_http(procs.port, "/readyz", procs)
        time.sleep(2.0)  # every daphne process imports Django before it accepts
        course = fetch_course(procs.port, race["course_url"])
        log(
            f"Pace up: {args.web} daphne + ticker on port {procs.port}; course {len(course)} points"
        )
        named = {n: p.pid for n, p in procs.procs.items()}
        profile = {"daphne0": named["daphne0"], "ticker": named["ticker"]} if args.profile else None

        import redis

        client = redis.Redis.from_url(args.redis_url)
        meta_key = f"{args.key_prefix}:live:{race['race_id']}:meta"

        def ticks_seq() -> int:
            raw = client.get(meta_key)
            return json.loads(raw)["seq"] if raw else 0

        restart = None
        if args.scenario == "restart":
            victim = f"daphne{args.web - 1}"

            def kill() -> set[tuple[str, int]]:
                p = procs.procs[victim]
                peers = client_peers(p.pid, procs.port)
                os.kill(p.pid, signal.SIGKILL)
                p.wait()
                return peers

            def start() -> int:
                return procs.start(victim, daphne, env, log_name=f"{victim}-restarted").pid

            restart = Restart(victim, kill, start, args.restart_after)
        out = run_load(
            args, procs.port, race, course, named, dbname, profile, logdir, "pace", ticks_seq,
            restart,
        )  # fmt: skip
        client.close()
        if args.probe:
            named = {n: p.pid for n, p in procs.procs.items()}
            out["per_connection"] = probe_connections(
                HOST, procs.port, race, named, dbname, args.probe
            )
        out["_course"] = course
        out["exited"] = procs.check()
        out["log_errors"] = {p.stem: _errors(p) for p in sorted(logdir.glob("*.log"))}
        out["log_error_counts"] = _error_counts(sorted(logdir.glob("daphne*.log")))
    finally:
        procs.stop()
    time.sleep(1.0)
    out["durability"] = check_db(args.database_url, race["race_id"], out.pop("_acked"))
    log(f"cleared {clear_redis(args.redis_url, args.key_prefix)} Redis keys")
    return out


def _errors(path: Path) -> list[str]:
    lines = path.read_text(errors="replace").splitlines()
    bad = [ln for ln in lines if "Error" in ln or "Traceback" in ln or "WARNING" in ln]
    return bad[-8:]


LOG_PATTERNS = {
    "took_too_long_to_shut_down": "took too long to shut down",
    "send_on_closed_protocol": "Attempt to send on a closed protocol",
    "tracebacks": "Traceback",
}


def _error_counts(paths: list[Path]) -> dict[str, int]:
    """How often daphne logged what the issue saw in a surge (all daphne logs together)."""
    text = "\n".join(p.read_text(errors="replace") for p in paths)
    out = {k: text.count(v) for k, v in LOG_PATTERNS.items()}
    out["other_errors"] = len(re.findall(r"(?m)^.*(?:Error|ERROR).*$", text)) - out["tracebacks"]
    return out


def run_baseline(
    args: argparse.Namespace, race: dict[str, Any], course: list[list[float]], logdir: Path
) -> dict[str, Any]:
    store = logdir / "baseline-fixes.log"
    race_file = logdir / "baseline-race.json"
    race_file.write_text(json.dumps(race | {"course": course}))
    procs = Procs(logdir)
    try:
        cmd = [
            PY,
            "-m",
            "bench.baseline_relay",
            "--fd",
            str(procs.sock.fileno()),
            "--race",
            str(race_file),
            "--store",
            str(store),
        ]
        p = procs.start("baseline", cmd, dict(os.environ))
        deadline = time.monotonic() + 30
        while "ready" not in procs.log_tail("baseline") and time.monotonic() < deadline:
            if p.poll() is not None:
                raise RuntimeError(procs.log_tail("baseline"))
            time.sleep(0.2)
        log(f"baseline relay up on port {procs.port}")
        out = run_load(
            args, procs.port, race, course, {"baseline": p.pid}, "-", None, logdir, "baseline"
        )
        out["exited"] = procs.check()
    finally:
        procs.stop()
    out["relay_stats"] = procs.log_tail("baseline", 2000).strip().splitlines()[-1:]
    out["durability"] = check_file(store, out.pop("_acked"))
    return out


SPECTATOR_MODES = ("page-lean", "protocol")


class _SpectatorsAction(argparse.Action):
    """``--spectators N`` (how many) or ``--spectators MODE`` (how they behave)."""

    def __call__(self, parser: Any, namespace: Any, value: Any, option: Any = None) -> None:
        if value in SPECTATOR_MODES:
            namespace.spectators_mode = value
            return
        try:
            namespace.spectators = int(value)
        except ValueError:
            parser.error(f"--spectators: a number or one of {', '.join(SPECTATOR_MODES)}")


FIELD_BYTES_PER_SECOND = 5000  # TRACKING_FIELD_BYTES_PER_SECOND: the bench runs the default


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.live", description=__doc__.split("\n")[0])
    p.add_argument(
        "--scenario",
        choices=("steady", "surge", "restart"),
        default="steady",
        help="steady: ramp at --connect-rate, warm-up, measured window (and the baseline); "
        "surge: athletes arrive over --athletes-in s, then spectators over --spectators-in s, "
        "measured from the first arrival; restart: steady, then kill -9 one daphne process "
        "--kill-after s into the window and start it again --restart-after s later",
    )
    p.add_argument(
        "--client",
        choices=("full", "page", "skim"),
        default="full",
        help="full (default): every frame read and parsed (orjson), seq checked, followed "
        "athletes' times measured; page: also the page's copies kept, focus states by id and "
        "every field entry in the page's own arrays (a Python loop per entry: about twice "
        "the parse's CPU); skim: the older generator, counting frames "
        "from their first bytes, big field frames unread",
    )
    p.add_argument(
        "--batch-sched",
        action="store_true",
        help="run the loaders as SCHED_BATCH (the older generator's setting, for comparison)",
    )
    p.add_argument(
        "--honour-retry-after",
        action="store_true",
        help="clients honour an HTTP 503's Retry-After (a browser's WebSocket cannot see it: "
        "the pages back off as after any failed connection; off by default)",
    )
    p.add_argument("--athletes-in", type=float, default=5.0, help="surge: athletes' arrival (5 s)")
    p.add_argument(
        "--spectators-in", type=float, default=15.0, help="surge: spectators' arrival (15 s)"
    )
    p.add_argument(
        "--kill-after", type=float, default=10.0, help="restart: seconds into the window (10)"
    )
    p.add_argument("--restart-after", type=float, default=2.0, help="restart: seconds down (2)")
    p.add_argument(
        "--probe",
        type=int,
        default=200,
        help="connections of the per-connection cost probe after the load (200; 0: none)",
    )
    p.add_argument("--athletes", type=int, default=200)
    p.add_argument(
        "--spectators",
        action=_SpectatorsAction,
        metavar="N|MODE",
        help="how many spectators (500), or, given a mode (may be given twice: "
        "--spectators 20000 --spectators page-lean), how they behave: page-lean (default "
        "for surge and restart) as static/tracking/live.js, a lean snapshot "
        "(?field=later) plus field.json and roster.json over HTTP, field.json refreshed "
        "while the race's field interval is over 60 s; protocol (default for steady): the "
        "whole field in the snapshot",
    )
    p.add_argument(
        "--spectator-mode", dest="spectators_mode", choices=SPECTATOR_MODES, default=None,
        help="the same as --spectators MODE",
    )  # fmt: skip
    p.add_argument("--web", type=int, default=2, help="daphne processes (2)")
    p.add_argument(
        "--duration",
        type=float,
        default=None,
        help="measured seconds (default: 20, rounded up to whole field intervals of the race, "
        "so that bytes per second count the field frames they average over)",
    )
    p.add_argument("--warmup", type=float, default=10.0, help="seconds after connecting (10)")
    p.add_argument(
        "--sample", type=float, default=0.02, help="share of spectators measuring latency"
    )
    p.add_argument(
        "--connect-rate",
        type=float,
        default=100.0,
        help="new connections a second, all loaders together (100): the ramp before the warm-up",
    )
    p.add_argument(
        "--connect-concurrency",
        type=int,
        default=32,
        help="handshakes in flight, all loaders together (32); a failed one is retried (5 tries)",
    )
    p.add_argument(
        "--ramp",
        type=float,
        default=0.0,
        help="seconds allowed for connecting everyone (default: the schedule of "
        "--connect-rate plus 60 s); the rest count as failed",
    )
    p.add_argument("--loaders", type=int, default=0, help="load generator processes (auto)")
    p.add_argument("--ack-grace", type=float, default=10.0, help="seconds to wait for last acks")
    p.add_argument("--skip-baseline", action="store_true")
    p.add_argument(
        "--skip-pace", action="store_true", help="baseline only (still creates the race)"
    )
    p.add_argument("--no-profile", dest="profile", action="store_false", help="no py-spy")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--output", type=Path, default=None, help="default: bench/results/live-SCENARIO-AxS.json"
    )
    p.add_argument(
        "--database-url", default=os.environ.get("BENCH_LIVE_DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    p.add_argument("--redis-url", default=os.environ.get("BENCH_LIVE_REDIS_URL", DEFAULT_REDIS_URL))
    p.add_argument(
        "--reuse-database",
        action="store_true",
        help="keep the database of an earlier run (the smoke tests: no migrations from scratch)",
    )
    p.add_argument(
        "--key-prefix",
        default=KEY_PREFIX,
        help=f"Redis key prefix (CACHE_KEY_PREFIX; {KEY_PREFIX}); its keys are deleted",
    )
    p.set_defaults(spectators=500)
    args = p.parse_args(argv)
    if args.spectators_mode is None:
        args.spectators_mode = "protocol" if args.scenario == "steady" else "page-lean"
    if args.duration is None:
        if args.scenario == "steady":
            interval = default_field_interval(args.athletes, FIELD_BYTES_PER_SECOND)
            args.duration = float(math.ceil(20.0 / interval) * interval)
        else:  # after the arrivals (surge) or after the restart
            args.duration = 40.0
    if args.output is None:
        name = f"live-{args.scenario}-{args.athletes}x{args.spectators}.json"
        args.output = RESULTS / name
    if args.scenario != "steady":
        args.skip_baseline = True  # one process: neither a restart nor 25,000 sockets
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if "bench" not in urlsplit(args.database_url).path:
        raise SystemExit("refusing a database whose name does not contain 'bench'")
    started = time.monotonic()
    env = bench_env(args)
    busy_before = machine_busy()
    log(f"machine before the load: {busy_before[0]}% CPU busy, load average {busy_before[1]}")
    race = prepare(args, env)
    logdir = Path(tempfile.mkdtemp(prefix="pace-live-"))
    log(f"logs and profiles in {logdir}")
    runs: dict[str, Any] = {}
    course: list[list[float]] | None = None
    if not args.skip_pace:
        runs["pace"] = run_pace(args, env, race, logdir)
        course = runs["pace"].pop("_course")
    if not args.skip_baseline:
        if course is None:
            procs = Procs(logdir)
            try:
                procs.start(
                    "course-daphne",
                    [DAPHNE, "--fd", str(procs.sock.fileno()), "-v", "0", "pace.asgi:application"],
                    env,
                )
                wait_http(procs.port, "/readyz", procs)
                course = fetch_course(procs.port, race["course_url"])
            finally:
                procs.stop()
        runs["baseline"] = run_baseline(args, race, course, logdir)
    ratio = None
    if "pace" in runs and "baseline" in runs:
        pa, ba = runs["pace"], runs["baseline"]
        ratio = {
            "fixes": round(pa["fixes_accepted_per_s"] / ba["fixes_accepted_per_s"], 2)
            if ba["fixes_accepted_per_s"]
            else None,
            "frames": round(pa["frames_per_s"] / ba["frames_per_s"], 2)
            if ba["frames_per_s"]
            else None,
        }
    report = {
        "benchmark": "live",
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "targets": TARGETS,
        "config": {
            "athletes": args.athletes,
            "spectators": args.spectators,
            "web": args.web,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "sample": args.sample,
            "follows_per_spectator": 5,
            "fix_interval_s": 1.0,
            "points_per_batch": 1,
            "scenario": args.scenario,
            "client": args.client,
            "spectators_mode": args.spectators_mode,
            "batch_sched": args.batch_sched,
            "honour_retry_after": args.honour_retry_after,
            "athletes_in_s": args.athletes_in if args.scenario == "surge" else None,
            "spectators_in_s": args.spectators_in if args.scenario == "surge" else None,
            "connect_rate": args.connect_rate if args.scenario != "surge" else None,
            "topology": f"{args.web} x daphne --fd (one socket) + 1 x manage.py run_tickers, "
            "PostgreSQL, Redis (channel layer, live store)",
            "database": urlsplit(args.database_url).path.lstrip("/"),
            "redis": f"{args.redis_url} prefix {args.key_prefix}",
        },
        "commit": _git_head(),
        "machine": machine_info(args)
        | {"busy_before_pct": busy_before[0], "load_average_before": busy_before[1]},
        "runs": runs,
        "elapsed_s": round(time.monotonic() - started, 1),
        "logdir": str(logdir),
    }
    if ratio:
        report["ratio_vs_baseline"] = ratio
    if "pace" in runs:
        report["verdict"] = verdict(runs["pace"], ratio, 1.0)
    else:
        report["verdict"] = {}
    print_table(report)
    if busy_before[0] > 20:
        log(f"WARNING: the machine was {busy_before[0]}% busy before the load: numbers are noisy")
    write_json(report, args.output)
    log(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
