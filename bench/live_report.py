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
