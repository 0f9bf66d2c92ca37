"""The live benchmark's report: the targets, the table it prints and the verdict."""

from __future__ import annotations

import subprocess
from typing import Any

from bench.servers import ROOT

TARGETS = {
    "latency_p99_s": "tick + 0.5 s",
    "acked_fixes_lost": 0,
    "missed_ticks": 0,
    "bytes_per_spectator_per_s": 10_000,
    "throughput_vs_baseline": 0.5,
}


# --- report ------------------------------------------------------------------------------------


def _served(r: dict[str, Any], kind: str) -> str:
    x = r["served"][kind]
    return f"{x['served']}/{x['arrived']} ({x['served_within_30s_pct']} % in 30 s)"


def _wait(r: dict[str, Any], kind: str) -> str:
    w = r["served"][kind]["wait_s"]
    return f"{w['p50']}/{w['p95']}/{w['p99']}/{w['max']}"


def _field_wait(r: dict[str, Any]) -> str:
    h = r.get("http")
    if not h:
        return "-"
    w = h["field_wait_s"]
    return f"{w['p50']}/{w['p99']} ({h['spectators_with_field']}; {h['requests']} GETs)"


def _bytes(r: dict[str, Any]) -> str:
    h = r.get("http")
    total = r["bytes_per_spectator_per_s"]
    if not h:
        return str(total)
    return f"{total} ({r['ws_bytes_per_spectator_per_s']} + {h['bytes_per_spectator_per_s']})"


ROWS = [
    ("client (generator)", lambda r: r["client"] + (" batch" if r["batch_sched"] else "")),
    ("spectators (generator)", lambda r: r.get("spectators_mode", "protocol")),
    ("athletes served", lambda r: _served(r, "athlete")),
    ("spectators served", lambda r: _served(r, "spectator")),
    ("ath arrival→served p50/95/99/max", lambda r: _wait(r, "athlete")),
    ("spec arrival→served p50/95/99/max", lambda r: _wait(r, "spectator")),
    ("spec arrival→whole field p50/p99", _field_wait),
    ("connects per spectator", lambda r: r["served"]["spectator"]["connects_per_client"]),
    ("refusals", lambda r: ", ".join(f"{k} {v}" for k, v in r["refusals"].items()) or 0),
    ("fixes/s sent", lambda r: r["fixes_sent_per_s"]),
    ("fixes/s accepted (acked)", lambda r: r["fixes_accepted_per_s"]),
    ("ack ms p50/p99", lambda r: f"{r['ack_ms']['p50']}/{r['ack_ms']['p99']}"),
    ("frames/s delivered", lambda r: r["frames_per_s"]),
    ("bytes/spectator/s (ws + http)", lambda r: _bytes(r)),
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
    ("resyncs (gap → follow)", lambda r: r["resyncs"]),
    (
        "disconnects (ath/spec)",
        lambda r: f"{r['athletes_disconnected']}/{r['spectators_disconnected']}",
    ),
    ("acked fixes lost", lambda r: r["durability"]["acked_lost"]),
    ("duplicates stored", lambda r: r["durability"]["duplicates"]),
    ("unacked after grace", lambda r: r["unacked_after_grace"]),
    ("server cores", lambda r: r["cost"]["server_cores"]),
    ("server µs / frame delivered", lambda r: r["cost"]["server_us_per_frame"]),
    ("server µs / fix acked", lambda r: r["cost"]["server_us_per_acked_fix"]),
    (
        "conn ms CPU spec/ath",
        lambda r: (
            f"{r['per_connection']['spectator']['server_cpu_ms_per_connection']}/"
            f"{r['per_connection']['athlete']['server_cpu_ms_per_connection']}"
        ),
    ),
    (
        "conn bytes in spec/ath",
        lambda r: (
            f"{r['per_connection']['spectator']['bytes_received']}/"
            f"{r['per_connection']['athlete']['bytes_received']}"
        ),
    ),
    ("load generator cores", lambda r: r["load_generator_cpu_s_per_s"]),
    (
        "generator loop late ms p50/p99/max",
        lambda r: "/".join(
            str(r.get("load_generator_loop_lag_ms", {}).get(k)) for k in ("p50", "p99", "max")
        ),
    ),
    (
        "generator GC pauses ≥5 ms (full) / longest / sum ms",
        lambda r: _gc_pauses(r.get("load_generator_gc_pauses")),
    ),
    ("machine busy %", lambda r: r["cpu_cores"]["machine_busy_pct"]),
    ("other processes cores", lambda r: r["cpu_cores"]["other_processes"]),
    (
        "daphne log errors",
        lambda r: ", ".join(f"{k} {v}" for k, v in r["log_error_counts"].items()),
    ),
]


def print_table(report: dict[str, Any]) -> None:
    runs = report["runs"]
    names = list(runs)
    print()
    cfg = report["config"]
    measured = next((r["duration_s"] for r in runs.values() if "duration_s" in r), None)
    print(
        f"Live tracking, {cfg.get('scenario', 'steady')}: {cfg['athletes']} athletes, "
        f"{cfg['spectators']} spectators, {measured}s measured"
    )
    head = f"{'':<34}" + "".join(f"{n:>28}" for n in names)
    print(head)
    print("-" * len(head))
    for label, fn in ROWS:
        cells = []
        for n in names:
            try:
                cells.append(str(fn(runs[n])))
            except (KeyError, TypeError):
                cells.append("-")
        print(f"{label:<34}" + "".join(f"{c:>28}" for c in cells))
    for n in names:
        cpu = {k: v for k, v in runs[n]["cpu_cores"].items() if k not in ("machine_busy_pct",)}
        print(f"CPU cores used ({n}): " + ", ".join(f"{k} {v}" for k, v in cpu.items()))
    pace = runs.get("pace", {})
    if pace.get("ack_windows"):
        cells = [f"{w['from_s']:g}s {w['p50_ms']}/{w['p99_ms']} ({w['acks']})"
                 for w in pace["ack_windows"]]  # fmt: skip
        print("ack ms p50/p99 (acks) per 5 s of sending: " + "; ".join(cells))
    if "restart" in pace:
        print(
            "restart: " + ", ".join(f"{k} {v}" for k, v in pace["restart"].items() if k != "note")
        )
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
        "all_served_within_30s": all(
            x["served_within_30s"] == x["arrived"] for x in pace["served"].values()
        ),
        "ack_p99_1s_every_5s": bool(pace.get("ack_windows"))
        and all(w["p99_ms"] is not None and w["p99_ms"] <= 1000 for w in pace["ack_windows"]),
    }
    if "restart" in pace:
        rs = pace["restart"]
        # Nobody found on the killed process is a failed measurement, not a pass.
        v["restart_served_again_30s"] = (
            rs["killed_clients"] > 0
            and rs["killed_served_again_within_30s"] == rs["killed_clients"]
        )
        v["restart_others_untouched"] = not rs["other_disconnects"] and not rs["other_missed_ticks"]
    if ratio:
        v["throughput_vs_baseline"] = min(ratio["fixes"], ratio["frames"]) >= 0.5
    return v


def _gc_pauses(g: dict[str, Any] | None) -> str:
    if not g:
        return "-"
    return f"{g['count']} ({g['full']}) / {g['max_ms']} / {g['total_ms']}"
