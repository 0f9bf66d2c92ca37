"""One live load run: the load generator processes against a server, their counts merged,
and the check that every acked fix was stored exactly once."""

from __future__ import annotations

import argparse
import collections
import math
import multiprocessing as mp
import subprocess
import time
from pathlib import Path
from typing import Any

from bench.http_scenarios import percentile
from bench.live_client import LoaderConfig, run_loader
from bench.live_measure import (
    _fds,
    _rss_mb,
    cpu_delta,
    cpu_snapshot,
    log,
    start_profile,
    summarize_profile,
)
from bench.servers import HOST

PER_LOADER = 9000  # connections per load generator process (files: 20,000 at most)
RAMP_SLACK_S = 60.0  # the ramp: the connection schedule plus this


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
