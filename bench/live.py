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
import collections
import datetime as dt
import json
import math
import multiprocessing as mp
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.http import (
    DAPHNE,
    PY,
    ROOT,
    _stat,
    clear_redis,
    machine_busy,
    machine_cpu,
    machine_info,
    percentile,
    recreate_database,
    run,
    server_env,
    stop_processes,
    write_json,
)
from bench.live_client import LoaderConfig, run_loader
from tracking.live.engine import default_field_interval

RESULTS = ROOT / "bench" / "results" / "live.json"
HOST = "127.0.0.1"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/pace_bench_live"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/2"
KEY_PREFIX = "pacebenchlive"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PER_LOADER = 9000  # connections per load generator process (files: 20,000 at most)
RAMP_SLACK_S = 60.0  # the ramp: the connection schedule plus this
TARGETS = {
    "latency_p99_s": "tick + 0.5 s",
    "acked_fixes_lost": 0,
    "missed_ticks": 0,
    "bytes_per_spectator_per_s": 10_000,
    "throughput_vs_baseline": 0.5,
}


def log(msg: str) -> None:
    print(f"[live {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --- setup ------------------------------------------------------------------------------


def bench_env(args: argparse.Namespace) -> dict[str, str]:
    # Every simulated phone and spectator connects from 127.0.0.1, 25,000 sockets at
    # about 1,300 a second: the per-IP limit on new sockets (ws.connect.ip) is off, and
    # so is the cap on sockets one IP holds open (TRACKING_MAX_SOCKETS_PER_IP).
    return server_env(
        database_url=args.database_url, redis_url=args.redis_url, key_prefix=KEY_PREFIX,
        EMBEDDED_TICKERS="0", EMBEDDED_SCHEDULER="0", DB_POOL="1",
        RATE_LIMIT_WS_CONNECT_IP="", TRACKING_MAX_SOCKETS_PER_IP="",
    )  # fmt: skip


def prepare(args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    name = urlsplit(args.database_url).path.lstrip("/")
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

    def start(self, name: str, cmd: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        logf = open(self.logdir / f"{name}.log", "wb")  # noqa: SIM115
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


# --- CPU accounting ---------------------------------------------------------------------------


def _rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def _fds(pid: int) -> int | None:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


def cpu_snapshot(named: dict[str, int], dbname: str) -> dict[str, float]:
    """Cumulative CPU seconds of the named processes, PostgreSQL, Redis and the machine."""
    stats = {int(p): s for p in os.listdir("/proc") if p.isdigit() and (s := _stat(int(p)))}
    out = {name: stats[pid][2] for name, pid in named.items() if pid in stats}
    out["postgres"] = out["redis"] = 0.0
    for pid, (comm, ppid, own, children) in stats.items():
        if comm == "postgres" or comm.startswith("postgres:"):
            parent = stats.get(ppid)
            if parent is None or not parent[0].startswith("postgres"):
                out["postgres"] += children
            else:
                try:
                    cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                except OSError:
                    cmd = ""
                if f" {dbname} " in cmd or "walwriter" in cmd or "checkpointer" in cmd:
                    out["postgres"] += own
        elif comm == "redis-server":
            out["redis"] += own
    out["machine_total"], out["machine_busy"] = machine_cpu()
    return out


def cpu_delta(before: dict[str, float], after: dict[str, float], seconds: float) -> dict[str, Any]:
    """CPU used in the window: seconds per second (1.0 = one core busy) per process."""
    out: dict[str, Any] = {}
    for k in after:
        if k in before and not k.startswith("machine"):
            out[k] = round((after[k] - before[k]) / seconds, 3)
    busy = after["machine_busy"] - before["machine_busy"]
    total = after["machine_total"] - before["machine_total"]
    accounted = sum(v for v in out.values())
    out["machine_busy_pct"] = round(100 * busy / total, 1) if total else None
    out["other_processes"] = round(busy / seconds - accounted, 3)
    return out


# --- profiling --------------------------------------------------------------------------------


def start_profile(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes] | None:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        return None
    cmd = [
        spy,
        "record",
        "-d",
        str(int(seconds)),
        "-r",
        "100",
        "-p",
        str(pid),
        "-f",
        "raw",
        "-o",
        str(out),
        "--nonblocking",
        "--gil",
    ]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


# Leaves that wait rather than compute (with --gil, few remain).
IDLE = ("select (selectors", "untilConcludes (", "_worker (concurrent/futures/thread.py:81")


def summarize_profile(path: Path, top: int = 15) -> dict[str, Any]:
    """Top functions by own samples and by inclusive samples, from py-spy's collapsed stacks."""
    own: collections.Counter[str] = collections.Counter()
    incl: collections.Counter[str] = collections.Counter()
    total = 0
    idle = 0
    if not path.exists():
        return {"error": "no profile"}
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        total += n
        leaf = frames[-1]
        if any(k in leaf for k in IDLE):
            idle += n
            continue
        own[_short(leaf, line=False)] += n
        for f in set(_short(x, line=False) for x in frames):
            incl[f] += n
    busy = total - idle
    pct = lambda n: round(100 * n / busy, 1) if busy else 0.0  # noqa: E731
    return {
        "samples": total,
        "idle_samples": idle,
        "note": "py-spy --gil: samples of the thread holding the GIL (Python CPU), % of those",
        "top_self": [[f, pct(n)] for f, n in own.most_common(top)],
        "top_inclusive": [[f, pct(n)] for f, n in incl.most_common(top + 10)],
    }


def _short(frame: str, line: bool = True) -> str:
    # "func (path/to/module.py:123)" -> "func (to/module.py:123)", or without ":123"
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    if not line:
        where = where.rsplit(":", 1)[0]
    parts = where.split("/")
    short = "/".join(parts[-2:]) if len(parts) > 1 else where
    return f"{name} ({short})"


# --- one run ----------------------------------------------------------------------------------


def sources(n: int) -> list[str]:
    return [f"127.0.0.{2 + i}" for i in range(n)]


def run_load(  # noqa: C901
    args: argparse.Namespace,
    port: int,
    race: dict[str, Any],
    course: list[list[float]],
    named: dict[str, int],
    dbname: str,
    profile: dict[str, int] | None,
    logdir: Path,
    label: str,
    ticks_seq: Any = None,
) -> dict[str, Any]:
    """Drive the load against a server on ``port``; return the merged measurements."""
    total = args.athletes + args.spectators
    n_loaders = args.loaders or max(2, math.ceil(total / PER_LOADER))
    # Connections are opened on a schedule (--connect-rate); the ramp gives them that
    # schedule plus a minute, so those that fail are the server's, not the clock's.
    ramp = args.ramp or total / args.connect_rate + RAMP_SLACK_S
    athletes = [{"id": a["id"], "token": a["token"]} for a in race["athletes"][: args.athletes]]
    ids = [a["id"] for a in athletes]
    ctx = mp.get_context("fork")
    loaders, pipes = [], []
    for i, src in enumerate(sources(n_loaders)):
        cfg = LoaderConfig(
            index=i,
            host=HOST,
            port=port,
            source=src,
            race_id=race["race_id"],
            athletes=athletes[i::n_loaders],
            all_ids=ids,
            spectators=args.spectators // n_loaders + (i < args.spectators % n_loaders),
            sample=args.sample,
            follows=5,
            course=course,
            seed=args.seed,
            connect_rate=args.connect_rate / n_loaders,
            connect_concurrency=max(1, args.connect_concurrency // n_loaders),
            ramp_s=ramp,
        )
        parent, child = ctx.Pipe()
        p = ctx.Process(target=run_loader, args=(cfg, child), daemon=True)
        p.start()
        loaders.append(p)
        pipes.append(parent)
    try:
        t = time.monotonic()
        connected = []
        for pipe in pipes:
            if not pipe.poll(ramp + 120):
                raise RuntimeError(f"a loader did not report within the ramp ({ramp:g}s) + 120s")
            msg = pipe.recv()
            if msg["phase"] == "error":
                raise RuntimeError(f"loader failed: {msg['error']}")
            connected.append(msg)
        connect_s = time.monotonic() - t
        n_ath = sum(m["athletes"] for m in connected)
        n_spec = sum(m["spectators"] for m in connected)
        failed = {
            k: sum(m["connect_failed"][k] for m in connected) for k in ("athlete", "spectator")
        }
        retried = {
            k: sum(m["connect_retried"][k] for m in connected) for k in ("athlete", "spectator")
        }
        log(
            f"{label}: {n_ath} athletes and {n_spec} spectators connected in {connect_s:.1f}s "
            f"(failed: {failed}, retried: {retried})"
        )
        measure_from = time.time() + args.warmup
        end = measure_from + args.duration
        for pipe in pipes:
            pipe.send({"measure_from": measure_from, "end": end, "ack_grace": args.ack_grace})
        # Started above, so each has a pid (Process.pid is None only before start()).
        named = named | {f"loader{i}": p.pid for i, p in enumerate(loaders) if p.pid is not None}
        time.sleep(max(0.0, measure_from - time.time()))
        spies = {}
        if profile:
            for name, pid in profile.items():
                spies[name] = start_profile(pid, min(args.duration, 10), logdir / f"{name}.prof")
        before = cpu_snapshot(named, dbname)
        seq0 = ticks_seq() if ticks_seq else None
        mem_fds: dict[str, Any] = {}
        time.sleep(max(0.0, measure_from + args.duration / 2 - time.time()))
        for name, pid in named.items():
            mem_fds[name] = {"rss_mb": _rss_mb(pid), "fds": _fds(pid)}
        time.sleep(max(0.0, end - time.time()))
        after = cpu_snapshot(named, dbname)
        seq1 = ticks_seq() if ticks_seq else None
        results = []
        for pipe in pipes:
            if not pipe.poll(args.ack_grace + 120):
                raise RuntimeError("a loader did not report")
            msg = pipe.recv()
            if msg["phase"] == "error":
                raise RuntimeError(f"loader failed: {msg['error']}")
            results.append(msg)
        profiles = {}
        for name, spy in spies.items():
            if spy is None:
                profiles[name] = {"error": "py-spy not installed"}
                continue
            try:
                _, err = spy.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                spy.kill()
                err = b"timeout"
            profiles[name] = summarize_profile(logdir / f"{name}.prof")
            if spy.returncode:
                profiles[name]["py_spy_error"] = err.decode(errors="replace")[-500:]
    finally:
        for p in loaders:
            p.join(timeout=5)
            if p.is_alive():
                p.terminate()
    out = merge(
        args, results, connected, connect_s, failed, before, after, mem_fds, profiles, seq0, seq1
    )
    out["connect_retried"] = retried
    return out


def merge(
    args: argparse.Namespace,
    results: list[dict[str, Any]],
    connected: list[dict[str, Any]],
    connect_s: float,
    failed: dict[str, int],
    before: dict[str, float],
    after: dict[str, float],
    mem_fds: dict[str, Any],
    profiles: dict[str, Any],
    seq0: int | None,
    seq1: int | None,
) -> dict[str, Any]:
    d = args.duration
    st = [r["stats"] for r in results]
    s = lambda k: sum(x[k] for x in st)  # noqa: E731
    lat = sorted(v for x in st for v in x["latency_ms"])
    ack = sorted(v for x in st for v in x["ack_latency_ms"])
    tick_lat = sorted(v for x in st for v in x["tick_latency_ms"])
    frames_by_type: collections.Counter[str] = collections.Counter()
    errors: collections.Counter[str] = collections.Counter()
    for x in st:
        frames_by_type.update(x["frames_by_type"])
        errors.update(x["athlete_errors"])
    n_spec = sum(m["spectators"] for m in connected)
    acked: dict[int, list[int]] = {}
    for r in results:
        acked.update({int(k): v for k, v in r["acked"].items()})
    if seq0 is None:
        seq0 = min((x["seq_at_start"] for x in st if x["seq_at_start"]), default=0)
        seq1 = max(x["seq_at_end"] for x in st)
    ticks_issued = (seq1 or 0) - (seq0 or 0)
    cpu = cpu_delta(before, after, d)
    return {
        "athletes_connected": sum(m["athletes"] for m in connected),
        "spectators_connected": n_spec,
        "connect_failed": failed,
        "connect_s": round(connect_s, 1),
        "connect_ms_p99": {
            k: round(percentile(sorted(v for r in results for v in r["connect_ms"][k]), 99), 1)
            for k in ("athlete", "spectator")
        },
        "fixes_sent_per_s": round(s("fixes_sent_window") / d, 1),
        "fixes_accepted_per_s": round(s("acks_window") / d, 1),
        "ack_ms": {"p50": _p(ack, 50), "p95": _p(ack, 95), "p99": _p(ack, 99), "max": _p(ack, 100)},
        "unacked_after_grace": sum(r["unacked_after_grace"] for r in results),
        "athlete_errors": dict(errors),
        "athletes_disconnected": s("athletes_closed"),
        "frames_per_s": round(s("frames_window") / d, 1),
        "frames_by_type_per_s": {k: round(v / d, 1) for k, v in frames_by_type.items()},
        "bytes_per_spectator_per_s": round(s("bytes_window") / d / n_spec) if n_spec else None,
        "ticks_issued": ticks_issued,
        "ticks_received_per_spectator": round(s("ticks_window") / n_spec, 2) if n_spec else None,
        "missed_ticks": s("missed_ticks"),
        "resyncs": s("resyncs"),
        "spectators_disconnected": s("spectators_closed"),
        "latency_samples": len(lat),
        "latency_s": {
            "p50": _p(lat, 50, 1000),
            "p95": _p(lat, 95, 1000),
            "p99": _p(lat, 99, 1000),
            "max": _p(lat, 100, 1000),
        },
        "tick_latency_s": {
            "p50": _p(tick_lat, 50, 1000),
            "p99": _p(tick_lat, 99, 1000),
            "max": _p(tick_lat, 100, 1000),
        },
        "cpu_cores": cpu,
        "load_generator_cpu_s_per_s": round(sum(r["cpu_s"] for r in results) / d, 3),
        "processes": mem_fds,
        "profiles": profiles,
        "_acked": acked,
    }


def _p(values: list[float], q: float, scale: float = 1.0) -> float | None:
    if not values:
        return None
    return round(percentile(values, q) / scale, 3 if scale > 1 else 1)


# --- durability check -----------------------------------------------------------------------


def check_db(url: str, race_id: int, acked: dict[int, list[int]]) -> dict[str, Any]:
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT registration_id, seq, count(*) FROM tracking_position WHERE race_id = %s "
            "GROUP BY registration_id, seq",
            [race_id],
        ).fetchall()
    stored = {(r, s): n for r, s, n in rows}
    return _compare(stored, acked)


def check_file(path: Path, acked: dict[int, list[int]]) -> dict[str, Any]:
    stored: collections.Counter[tuple[int, int]] = collections.Counter()
    with open(path) as f:
        for line in f:
            a, s, *_ = line.split()
            stored[(int(a), int(s))] += 1
    return _compare(dict(stored), acked)


def _compare(stored: dict[tuple[int, int], int], acked: dict[int, list[int]]) -> dict[str, Any]:
    pairs = {(a, s) for a, seqs in acked.items() for s in seqs}
    lost = [p for p in pairs if p not in stored]
    dup = [p for p, n in stored.items() if n > 1]
    return {
        "acked": len(pairs),
        "stored": len(stored),
        "acked_lost": len(lost),
        "duplicates": len(dup),
        "lost_examples": sorted(lost)[:10],
        "stored_not_acked": len(set(stored) - pairs),
    }


# --- Pace and baseline ------------------------------------------------------------------------


def run_pace(
    args: argparse.Namespace, env: dict[str, str], race: dict[str, Any], logdir: Path
) -> dict[str, Any]:
    dbname = urlsplit(args.database_url).path.lstrip("/")
    log(f"cleared {clear_redis(args.redis_url, KEY_PREFIX)} Redis keys under {KEY_PREFIX}")
    procs = Procs(logdir)
    try:
        fd = procs.sock.fileno()
        for i in range(args.web):
            procs.start(
                f"daphne{i}", [DAPHNE, "--fd", str(fd), "-v", "0", "pace.asgi:application"], env
            )
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
        meta_key = f"{KEY_PREFIX}:live:{race['race_id']}:meta"

        def ticks_seq() -> int:
            raw = client.get(meta_key)
            return json.loads(raw)["seq"] if raw else 0

        out = run_load(
            args, procs.port, race, course, named, dbname, profile, logdir, "pace", ticks_seq
        )
        client.close()
        out["_course"] = course
        out["exited"] = procs.check()
        out["log_errors"] = {n: _errors(logdir / f"{n}.log") for n in procs.procs}
    finally:
        procs.stop()
    time.sleep(1.0)
    out["durability"] = check_db(args.database_url, race["race_id"], out.pop("_acked"))
    log(f"cleared {clear_redis(args.redis_url, KEY_PREFIX)} Redis keys")
    return out


def _errors(path: Path) -> list[str]:
    lines = path.read_text(errors="replace").splitlines()
    bad = [ln for ln in lines if "Error" in ln or "Traceback" in ln or "WARNING" in ln]
    return bad[-8:]


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


# --- report ------------------------------------------------------------------------------------


ROWS = [
    ("athletes connected", lambda r: r["athletes_connected"]),
    ("spectators connected", lambda r: r["spectators_connected"]),
    (
        "connect failures (ath/spec)",
        lambda r: f"{r['connect_failed']['athlete']}/{r['connect_failed']['spectator']}",
    ),
    (
        "connect retries (ath/spec)",
        lambda r: f"{r['connect_retried']['athlete']}/{r['connect_retried']['spectator']}",
    ),
    ("connect s (ramp)", lambda r: r["connect_s"]),
    ("fixes/s sent", lambda r: r["fixes_sent_per_s"]),
    ("fixes/s accepted (acked)", lambda r: r["fixes_accepted_per_s"]),
    ("ack ms p50/p99", lambda r: f"{r['ack_ms']['p50']}/{r['ack_ms']['p99']}"),
    ("frames/s delivered", lambda r: r["frames_per_s"]),
    ("bytes/spectator/s", lambda r: r["bytes_per_spectator_per_s"]),
    ("latency s p50", lambda r: r["latency_s"]["p50"]),
    ("latency s p95", lambda r: r["latency_s"]["p95"]),
    ("latency s p99", lambda r: r["latency_s"]["p99"]),
    (
        "tick → screen s p50/p99",
        lambda r: f"{r['tick_latency_s']['p50']}/{r['tick_latency_s']['p99']}",
    ),
    ("ticks issued in window", lambda r: r["ticks_issued"]),
    ("ticks recv/spectator", lambda r: r["ticks_received_per_spectator"]),
    ("missed ticks (seq gaps)", lambda r: r["missed_ticks"]),
    ("resyncs (extra snapshots)", lambda r: r["resyncs"]),
    (
        "disconnects (ath/spec)",
        lambda r: f"{r['athletes_disconnected']}/{r['spectators_disconnected']}",
    ),
    ("acked fixes lost", lambda r: r["durability"]["acked_lost"]),
    ("duplicates stored", lambda r: r["durability"]["duplicates"]),
    ("unacked after grace", lambda r: r["unacked_after_grace"]),
    ("load generator cores", lambda r: r["load_generator_cpu_s_per_s"]),
    ("machine busy %", lambda r: r["cpu_cores"]["machine_busy_pct"]),
    ("other processes cores", lambda r: r["cpu_cores"]["other_processes"]),
]


def print_table(report: dict[str, Any]) -> None:
    runs = report["runs"]
    names = list(runs)
    print()
    print(
        f"Live tracking: {report['config']['athletes']} athletes, "
        f"{report['config']['spectators']} spectators, {report['config']['duration_s']:g}s measured"
    )
    head = f"{'':<28}" + "".join(f"{n:>18}" for n in names)
    print(head)
    print("-" * len(head))
    for label, fn in ROWS:
        cells = []
        for n in names:
            try:
                cells.append(str(fn(runs[n])))
            except (KeyError, TypeError):
                cells.append("-")
        print(f"{label:<28}" + "".join(f"{c:>18}" for c in cells))
    for n in names:
        cpu = {k: v for k, v in runs[n]["cpu_cores"].items() if k not in ("machine_busy_pct",)}
        print(f"CPU cores used ({n}): " + ", ".join(f"{k} {v}" for k, v in cpu.items()))
    if "ratio_vs_baseline" in report:
        print(f"Pace / baseline: {report['ratio_vs_baseline']}")
    v = report["verdict"]
    print("Targets: " + ", ".join(f"{k} {'PASS' if ok else 'FAIL'}" for k, ok in v.items()))
    for name, prof in runs.get("pace", {}).get("profiles", {}).items():
        if "top_self" in prof:
            print(f"\nprofile {name} ({prof['samples']} samples holding the GIL), top own time:")
            for f, pct in prof["top_self"][:10]:
                print(f"  {pct:>5}%  {f}")
            print(
                "  top inclusive: "
                + "; ".join(f"{f} {pct}%" for f, pct in prof["top_inclusive"][:12])
            )
    print()


def _git_head() -> str | None:
    """The commit measured (read only; uncommitted changes in the tree are not shown)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def verdict(pace: dict[str, Any], ratio: dict[str, Any] | None, tick: float) -> dict[str, bool]:
    p99 = pace["latency_s"]["p99"]
    v = {
        "latency_p99": p99 is not None and p99 <= tick + 0.5,
        "acked_lost_0": pace["durability"]["acked_lost"] == 0
        and pace["durability"]["duplicates"] == 0,
        "missed_ticks_0": pace["missed_ticks"] == 0 and pace["resyncs"] == 0,
        "bytes_per_spectator": (pace["bytes_per_spectator_per_s"] or 0) <= 10_000,
        "all_connected": not any(pace["connect_failed"].values()),
    }
    if ratio:
        v["throughput_vs_baseline"] = min(ratio["fixes"], ratio["frames"]) >= 0.5
    return v


FIELD_BYTES_PER_SECOND = 5000  # TRACKING_FIELD_BYTES_PER_SECOND: the bench runs the default


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.live", description=__doc__.split("\n")[0])
    p.add_argument("--athletes", type=int, default=200)
    p.add_argument("--spectators", type=int, default=500)
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
    p.add_argument("--output", type=Path, default=RESULTS)
    p.add_argument(
        "--database-url", default=os.environ.get("BENCH_LIVE_DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    p.add_argument("--redis-url", default=os.environ.get("BENCH_LIVE_REDIS_URL", DEFAULT_REDIS_URL))
    args = p.parse_args(argv)
    if args.duration is None:
        interval = default_field_interval(args.athletes, FIELD_BYTES_PER_SECOND)
        args.duration = float(math.ceil(20.0 / interval) * interval)
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
            "topology": f"{args.web} x daphne --fd (one socket) + 1 x manage.py run_tickers, "
            "PostgreSQL, Redis (channel layer, live store)",
            "database": urlsplit(args.database_url).path.lstrip("/"),
            "redis": f"{args.redis_url} prefix {KEY_PREFIX}",
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
