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
# The killed process's sockets are read from /proc just before the SIGKILL: a socket
# closed this long before it (or later) was still held when they were read, and a loss
# of service from this long before it on counts as the kill's.
KILL_SLACK_S = 1.0


# --- one run ----------------------------------------------------------------------------------

QUANTILES = (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100))
SERVED_WITHIN_S = 30.0  # the target: every client served within 30 s of arriving
SERVER_KEYS = ("daphne", "ticker", "redis", "postgres", "baseline")


def sources(n: int) -> list[str]:
    return [f"127.0.0.{2 + i}" for i in range(n)]


def schedule(args: argparse.Namespace) -> tuple[list[float], list[float]]:
    """Arrival times (seconds after the start) of every athlete, then every spectator.

    surge: athletes at N / --athletes-in s, spectators at S / --spectators-in s right
    after; steady and restart: everyone one after the other at --connect-rate."""
    a, s = args.athletes, args.spectators
    if args.scenario == "surge":
        ath = [i * args.athletes_in / a for i in range(a)] if a else []
        spec = [args.athletes_in + j * args.spectators_in / s for j in range(s)] if s else []
    else:
        ath = [i / args.connect_rate for i in range(a)]
        spec = [(a + j) / args.connect_rate for j in range(s)]
    return ath, spec


class Restart:
    """The restart scenario's event, run by the parent: kill -9 one server process, start
    it again after a pause. ``kill()`` returns the client addresses it held."""

    def __init__(self, name: str, kill: Any, start: Any, after_s: float) -> None:
        self.name, self.kill, self.start, self.after_s = name, kill, start, after_s


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
    restart: Restart | None = None,
) -> dict[str, Any]:
    """Drive the load against a server on ``port``; return the merged measurements."""
    total = args.athletes + args.spectators
    n_loaders = args.loaders or max(2, math.ceil(total / PER_LOADER))
    ath_at, spec_at = schedule(args)
    start_at = time.time() + 3.0  # the loaders are up by then
    surge = args.scenario == "surge"
    ramp_end = start_at + (ath_at + spec_at or [0.0])[-1] + (args.ramp or RAMP_SLACK_S)
    window = None
    if surge:
        arrivals = args.athletes_in + args.spectators_in
        window = {"measure_from": start_at, "end": start_at + arrivals + args.duration,
                  "ack_grace": args.ack_grace}  # fmt: skip
    athletes = [
        {"id": a["id"], "token": a["token"], "at": ath_at[i]}
        for i, a in enumerate(race["athletes"][: args.athletes])
    ]
    ids = [a["id"] for a in race["athletes"][: args.athletes]]
    ctx = mp.get_context("fork")
    loaders, pipes = [], []
    for i, src in enumerate(sources(n_loaders)):
        cfg = LoaderConfig(
            index=i, host=HOST, port=port, source=src, race_id=race["race_id"],
            athletes=athletes[i::n_loaders], all_ids=ids, spectators_at=spec_at[i::n_loaders],
            sample=args.sample, follows=5, course=course, start_at=start_at,
            connect_concurrency=0 if surge else max(1, args.connect_concurrency // n_loaders),
            ramp_end=ramp_end, window=window, full=args.client != "skim",
            page_copies=args.client == "page",
            batch_sched=args.batch_sched, honour_retry_after=args.honour_retry_after,
            token_in_url=label == "baseline",
            # The baseline relay serves no field.json: its spectators stay protocol clients.
            spectators=args.spectators_mode if label != "baseline" else "protocol",
            event_slug=race.get("event_slug", ""), race_slug=race.get("race_slug", ""),
            seed=args.seed,
        )  # fmt: skip
        parent, child = ctx.Pipe()
        p = ctx.Process(target=run_loader, args=(cfg, child), daemon=True)
        p.start()
        loaders.append(p)
        pipes.append(parent)
    named = named | {f"loader{i}": p.pid for i, p in enumerate(loaders) if p.pid is not None}
    connected: list[dict[str, Any]] = []
    events: dict[str, Any] = {}
    try:
        if surge:
            assert window is not None
            measure_from, end = window["measure_from"], window["end"]
        else:
            for pipe in pipes:
                if not pipe.poll(ramp_end - time.time() + 120):
                    raise RuntimeError("a loader did not report within the ramp + 120s")
                msg = pipe.recv()
                if msg["phase"] == "error":
                    raise RuntimeError(f"loader failed: {msg['error']}")
                connected.append(msg)
            n_ath = sum(m["athletes"] for m in connected)
            n_spec = sum(m["spectators"] for m in connected)
            log(
                f"{label}: {n_ath} athletes and {n_spec} spectators served "
                f"{time.time() - start_at:.1f}s after the first arrival"
            )
            measure_from = time.time() + args.warmup
            end = measure_from + args.duration
            cmd = {"measure_from": measure_from, "end": end, "ack_grace": args.ack_grace}
            if restart:
                cmd["kill_at"] = events["kill_at"] = measure_from + args.kill_after
                end = cmd["end"] = events["kill_at"] + restart.after_s + args.duration
            for pipe in pipes:
                pipe.send(cmd)
        time.sleep(max(0.0, measure_from - time.time()))
        spies = {}
        if profile:
            for name, pid in profile.items():
                spies[name] = start_profile(pid, min(args.duration, 10), logdir / f"{name}.prof")
        before = cpu_snapshot(named, dbname)
        seq0 = ticks_seq() if ticks_seq else None
        mem_fds: dict[str, Any] = {}
        if restart:
            time.sleep(max(0.0, events["kill_at"] - 0.2 - time.time()))
            mid = cpu_snapshot(named, dbname)
            events["killed_peers"] = restart.kill()
            events["killed_at"] = time.time()
            log(f"{label}: killed {restart.name} ({len(events['killed_peers'])} clients)")
            time.sleep(restart.after_s)
            named = named | {restart.name: restart.start()}
            events["restarted_at"] = time.time()
            mid2 = cpu_snapshot(named, dbname)
            # The restarted process's CPU: the old one's until the kill plus the new one's.
            before[restart.name] = before[restart.name] - mid[restart.name] + mid2[restart.name]
            log(f"{label}: restarted {restart.name}")
        time.sleep(max(0.0, measure_from + (end - measure_from) / 2 - time.time()))
        for name, pid in named.items():
            mem_fds[name] = {"rss_mb": _rss_mb(pid), "fds": _fds(pid)}
        time.sleep(max(0.0, end - time.time()))
        after = cpu_snapshot(named, dbname)
        seq1 = ticks_seq() if ticks_seq else None
        results = []
        for pipe in pipes:
            if not pipe.poll(args.ack_grace + 180):
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
    duration = end - measure_from
    out = merge(args, results, duration, before, after, mem_fds, profiles, seq0, seq1, label)
    people = [rec for r in results for rec in r["people"]]
    out["served"] = {k: served_summary(people, k) for k in ("athlete", "spectator")}
    out["ack_windows"] = ack_windows(results, measure_from, end)
    out["load_generator_loop_lag_ms"] = loop_lag(results, measure_from, end)
    out["load_generator_gc_pauses"] = gc_pauses(results, measure_from, end)
    if surge:
        out["surge"] = {"start": start_at, "athletes_in_s": args.athletes_in,
                        "spectators_in_s": args.spectators_in}  # fmt: skip
    if restart:
        out["restart"] = restart_summary(results, people, events, measure_from, end)
    return out


def served_summary(people: list[tuple[Any, ...]], kind: str) -> dict[str, Any]:
    """Arrival → first served (welcome / first snapshot) of everyone of one kind."""
    mine = [p for p in people if p[0] == kind]
    waits = sorted(p[2] - p[1] for p in mine if p[2] is not None)
    within = sum(1 for w in waits if w <= SERVED_WITHIN_S)
    return {
        "arrived": len(mine),
        "served": len(waits),
        "served_within_30s": within,
        "served_within_30s_pct": round(100 * within / len(mine), 1) if mine else None,
        "wait_s": {q: _p(waits, v) for q, v in QUANTILES},
        "connects_per_client": round(sum(p[6] for p in mine) / len(mine), 2) if mine else None,
    }


def ack_windows(results: list[dict[str, Any]], t0: float, end: float, step: float = 5.0) -> list:
    """Ack latency p50/p99 per 5-s window of the sending time, from the window's start."""
    buckets: dict[int, list[float]] = collections.defaultdict(list)
    for r in results:
        for sent, ms in r["stats"]["acks"]:
            if t0 <= sent < end:
                buckets[int((sent - t0) // step)].append(ms)
    rows = []
    for k in sorted(buckets):
        v = sorted(buckets[k])
        rows.append({"from_s": k * step, "acks": len(v), "p50_ms": _p(v, 50), "p99_ms": _p(v, 99)})
    return rows


def loop_lag(results: list[dict[str, Any]], start: float, end: float) -> dict[str, Any]:
    """How late the loaders' loops ran between ``start`` and ``end`` (their 0.1 s timer's
    lateness, every loader's samples together): p50 / p99 / max in ms."""
    lags = sorted(ms for r in results for at, ms in r.get("loop_lags", ()) if start <= at < end)
    return {"p50": _p(lags, 50), "p99": _p(lags, 99), "max": _p(lags, 100), "samples": len(lags)}


def gc_pauses(results: list[dict[str, Any]], start: float, end: float) -> dict[str, Any]:
    """The loaders' garbage-collection pauses of 5 ms or more between ``start`` and ``end``:
    how many, of the full (oldest) generation how many, the longest and their sum in ms."""
    pauses = [
        (gen, ms) for r in results for at, gen, ms in r.get("gc_pauses", ()) if start <= at < end
    ]
    return {
        "count": len(pauses),
        "full": sum(1 for gen, _ in pauses if gen == 2),
        "max_ms": max((ms for _, ms in pauses), default=None),
        "total_ms": round(sum(ms for _, ms in pauses), 1),
    }


def held_at(sockets: list[list[Any]], at: float) -> tuple[str, int] | None:
    """The (host, port) of the socket a client held at ``at``: connected before it and not
    closed before it (the one closed by the kill itself closes just after); the latest."""
    held = [s for s in sockets if s[2] <= at and (s[3] is None or s[3] >= at - KILL_SLACK_S)]
    return (held[-1][0], held[-1][1]) if held else None


def restart_summary(
    results: list[dict[str, Any]],
    people: list[tuple[Any, ...]],
    events: dict[str, Any],
    measure_from: float,
    end: float,
) -> dict[str, Any]:
    """The killed process's clients: served again within 30 s? The other's: untouched?"""
    kill = events["killed_at"]
    peers = events["killed_peers"]
    back: list[float] = []
    never = 0
    killed = other = other_lost = other_missed = unknown = 0
    # Fix → screen of the other process's sampled spectators, before the kill and in
    # the 30 s after it.
    lat_before: list[float] = []
    lat_during: list[float] = []
    for _kind, _arr, _served, lost, sockets, missed, _n, latency in people:
        sock = held_at(sockets, kill)
        if sock is None:
            unknown += 1
            continue
        if sock in peers:
            killed += 1
            losses = [x for x in lost if x[0] >= kill - KILL_SLACK_S]
            if losses and losses[0][1] is not None:
                back.append(losses[0][1] - kill)
            else:
                never += 1
        else:
            other += 1
            other_lost += sum(1 for x in lost if x[0] >= kill - KILL_SLACK_S)
            other_missed += sum(n for at, n in missed if at >= kill - KILL_SLACK_S)
            for at, ms in latency:
                if measure_from <= at < kill:
                    lat_before.append(ms)
                elif kill <= at < kill + SERVED_WITHIN_S:
                    lat_during.append(ms)
    back.sort()
    lat_before.sort()
    lat_during.sort()
    return {
        "killed_at_s": round(kill - measure_from, 1),
        "restarted_after_s": round(events["restarted_at"] - kill, 1),
        "killed_clients": killed,
        "killed_served_again_within_30s": sum(1 for b in back if b <= SERVED_WITHIN_S),
        "killed_served_again_s": {"p50": _p(back, 50), "p99": _p(back, 99), "max": _p(back, 100)},
        "killed_not_served_again": never,
        "other_clients": other,
        "other_disconnects": other_lost,
        "other_missed_ticks": other_missed,
        "clients_without_socket_at_kill": unknown,
        "latency_s_before": {"p50": _p(lat_before, 50, 1000), "p99": _p(lat_before, 99, 1000)},
        "loader_loop_lag_ms_30s_after_kill": loop_lag(results, kill, kill + SERVED_WITHIN_S),
        "latency_s_30s_after_kill": {
            "p50": _p(lat_during, 50, 1000),
            "p99": _p(lat_during, 99, 1000),
        },
        "note": "disconnects, missed ticks and fix → screen: the other process's clients",
    }


def merge(
    args: argparse.Namespace,
    results: list[dict[str, Any]],
    d: float,
    before: dict[str, float],
    after: dict[str, float],
    mem_fds: dict[str, Any],
    profiles: dict[str, Any],
    seq0: int | None,
    seq1: int | None,
    label: str = "pace",
) -> dict[str, Any]:
    st = [r["stats"] for r in results]
    s = lambda k: sum(x[k] for x in st)  # noqa: E731
    lat = sorted(v for x in st for v in x["latency_ms"])
    ack = sorted(v for x in st for v in x["ack_latency_ms"])
    tick_lat = sorted(v for x in st for v in x["tick_latency_ms"])
    frames_by_type: collections.Counter[str] = collections.Counter()
    errors: collections.Counter[str] = collections.Counter()
    refusals: collections.Counter[str] = collections.Counter()
    for r in results:
        frames_by_type.update(r["stats"]["frames_by_type"])
        errors.update(r["stats"]["athlete_errors"])
        refusals.update(r["refusals"])
    people = [p for r in results for p in r["people"]]
    n_spec = sum(1 for p in people if p[0] == "spectator" and p[2] is not None)
    acked: dict[int, list[int]] = {}
    for r in results:
        acked.update({int(k): v for k, v in r["acked"].items()})
    if seq0 is None:
        seq0 = min((x["seq_at_start"] for x in st if x["seq_at_start"]), default=0)
        seq1 = max(x["seq_at_end"] for x in st)
    cpu = cpu_delta(before, after, d)
    server_cores = sum(v for k, v in cpu.items() if k.startswith(SERVER_KEYS))
    frames, acks = s("frames_window"), s("acks_window")
    # The loaders' CPU from /proc over the servers' window. Their own count
    # (process_time between their window's ends, ``load_generator_cpu_s_self``) runs long
    # when a loader's loop is late to wake at the window's end, as it is under a surge:
    # it once claimed 2.7 cores on a 2-core machine whose servers used 1.2.
    gen_cores = round(sum(v for k, v in cpu.items() if k.startswith("loader")), 3)
    ws_bytes, http_bytes = s("bytes_window"), s("http_bytes_window")
    statuses: collections.Counter[str] = collections.Counter()
    for x in st:
        statuses.update(x["http_status"])
    field_waits = sorted(1000 * v for x in st for v in x["field_wait_s"])
    mode = args.spectators_mode if label != "baseline" else "protocol"
    return {
        "client": args.client,
        "spectators_mode": mode,
        "batch_sched": args.batch_sched,
        "athletes_connected": sum(1 for p in people if p[0] == "athlete" and p[2] is not None),
        "spectators_connected": n_spec,
        "refusals": dict(refusals),
        "duration_s": round(d, 1),
        "fixes_sent_per_s": round(s("fixes_sent_window") / d, 1),
        "fixes_accepted_per_s": round(acks / d, 1),
        "ack_ms": {"p50": _p(ack, 50), "p95": _p(ack, 95), "p99": _p(ack, 99), "max": _p(ack, 100)},
        "unacked_after_grace": sum(r["unacked_after_grace"] for r in results),
        "athlete_errors": dict(errors),
        "athletes_disconnected": s("athletes_closed"),
        "frames_per_s": round(frames / d, 1),
        "frames_by_type_per_s": {k: round(v / d, 1) for k, v in frames_by_type.items()},
        # The socket's frames and (page-lean) the page's field.json / roster.json fetches.
        "bytes_per_spectator_per_s": round((ws_bytes + http_bytes) / d / n_spec)
        if n_spec
        else None,
        "ws_bytes_per_spectator_per_s": round(ws_bytes / d / n_spec) if n_spec else None,
        "http": {
            "requests": s("http_requests"),
            "bytes": s("http_bytes"),
            "requests_per_s_in_window": round(s("http_requests_window") / d, 1),
            "bytes_per_spectator_per_s": round(http_bytes / d / n_spec) if n_spec else None,
            "status": dict(statuses),
            # Arrival → the whole field (first field.json; protocol: the snapshot).
            "spectators_with_field": len(field_waits),
            "field_wait_s": {q: _p(field_waits, v, 1000) for q, v in QUANTILES},
        }
        if mode == "page-lean"
        else None,
        "ticks_issued": (seq1 or 0) - (seq0 or 0),
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
        "cost": {
            "server_cores": round(server_cores, 3),
            "server_us_per_frame": round(server_cores * d * 1e6 / frames, 1) if frames else None,
            "server_us_per_acked_fix": round(server_cores * d * 1e6 / acks, 1) if acks else None,
            "note": "server = daphne + ticker + Redis + PostgreSQL CPU in the window, all of it "
            "divided by the frames delivered to spectators, and all of it by the fixes acked",
        },
        "load_generator_cpu_s_per_s": gen_cores,
        "load_generator_cpu_s_self": round(sum(r["cpu_s"] for r in results), 1),
        "load_generator_cpu_s_total": round(sum(r["cpu_total_s"] for r in results), 1),
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
        # A batch holds several fixes (a phone's backlog after a reconnect): a duplicate
        # is one fix (registration, seq, t) stored more than once.
        rows = conn.execute(
            "SELECT registration_id, seq, max(n) FROM (SELECT registration_id, seq, t, count(*) n "
            "FROM tracking_position WHERE race_id = %s GROUP BY registration_id, seq, t) x "
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
