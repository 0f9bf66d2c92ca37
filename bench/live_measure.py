"""How the live benchmark measures a process: CPU, memory and open files from ``/proc``,
a py-spy profile and its summary; and the benchmark's log line."""

from __future__ import annotations

import collections
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.procstat import _stat, machine_cpu


def log(msg: str) -> None:
    print(f"[live {time.strftime('%H:%M:%S')}] {msg}", flush=True)


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


PG = "pg:"  # cpu_snapshot's per-backend keys of the bench database's PostgreSQL backends


def cpu_snapshot(named: dict[str, int], dbname: str) -> dict[str, float]:
    """Cumulative CPU seconds of the named processes, PostgreSQL (the bench database's
    backends, each on its own, and the WAL writer and checkpointer), Redis and the machine.
    A backend that ends between two snapshots loses what it used since the first."""
    stats = {int(p): s for p in os.listdir("/proc") if p.isdigit() and (s := _stat(int(p)))}
    out = {name: stats[pid][2] for name, pid in named.items() if pid in stats}
    out["redis"] = 0.0
    for pid, (comm, ppid, own, _children) in stats.items():
        if comm == "postgres" or comm.startswith("postgres:"):
            parent = stats.get(ppid)
            if parent is not None and parent[0].startswith("postgres"):
                try:
                    cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                except OSError:
                    cmd = ""
                if f" {dbname} " in cmd or "walwriter" in cmd or "checkpointer" in cmd:
                    # Per backend (cpu_delta adds them up): the postmaster's reaped
                    # children would count other databases' backends too, and on a
                    # machine shared with test suites those are most of it.
                    out[f"{PG}{pid}"] = own
        elif comm == "redis-server":
            out["redis"] += own
    out["machine_total"], out["machine_busy"] = machine_cpu()
    return out


def cpu_delta(before: dict[str, float], after: dict[str, float], seconds: float) -> dict[str, Any]:
    """CPU used in the window: seconds per second (1.0 = one core busy) per process."""
    out: dict[str, Any] = {}
    pg = 0.0
    for k in after:
        if k.startswith(PG):  # a backend that began in the window: all its CPU is in it
            pg += after[k] - before.get(k, 0.0)
        elif k in before and not k.startswith("machine"):
            out[k] = round((after[k] - before[k]) / seconds, 3)
    out["postgres"] = round(pg / seconds, 3)
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
