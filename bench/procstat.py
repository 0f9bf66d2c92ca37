"""CPU from ``/proc``: per process (the servers, PostgreSQL's backends), the machine's, and
the database's open sessions while a scenario runs."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- CPU accounting from /proc --------------------------------------------------------


def _stat(pid: int) -> tuple[str, int, float, float] | None:
    """(comm, ppid, own CPU s, reaped children's CPU s) of a process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm = raw[raw.index("(") + 1 : raw.rindex(")")]
    f = raw[raw.rindex(")") + 2 :].split()
    # After comm: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14).
    own = (int(f[11]) + int(f[12])) / CLK_TCK
    return comm, int(f[1]), own, (int(f[13]) + int(f[14])) / CLK_TCK


def _cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace")


def cpu_snapshot(server_pids: list[int], dbname: str) -> dict[str, float]:
    """Cumulative CPU seconds of the servers, PostgreSQL, Redis and the whole machine.

    PostgreSQL: the backends connected to the bench database, plus the CPU of the
    backends the postmaster reaped (those of other databases too, if anything else runs).
    """
    stats = {int(p): s for p in os.listdir("/proc") if p.isdigit() and (s := _stat(int(p)))}
    out = {"daphne": sum(stats[p][2] for p in server_pids if p in stats)}
    out["postgres"] = out["redis"] = 0.0
    for pid, (comm, ppid, own, children) in stats.items():
        if comm == "postgres" or comm.startswith("postgres:"):
            parent = stats.get(ppid)
            if parent is None or not parent[0].startswith("postgres"):
                out["postgres"] += children  # the postmaster: backends that exited
            elif f" {dbname} " in _cmdline(pid):
                out["postgres"] += own
        elif comm == "redis-server":
            out["redis"] += own
    out["machine_total"], out["machine_busy"] = machine_cpu()
    return out


def machine_cpu() -> tuple[float, float]:
    """CPU seconds of the whole machine since boot: (all, busy: not idle nor waiting on I/O)."""
    with open("/proc/stat") as f:
        cpu = [int(x) for x in f.readline().split()[1:9]]
    return sum(cpu) / CLK_TCK, (sum(cpu) - cpu[3] - cpu[4]) / CLK_TCK


@contextlib.contextmanager
def db_sessions(url: str) -> Iterator[Callable[[], int]]:
    """A reader of how many sessions PostgreSQL has opened on the database so far."""
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(url, autocommit=True) as conn:

        def read() -> int:
            conn.execute("SELECT pg_stat_clear_snapshot()")
            row = conn.execute(
                "SELECT sessions FROM pg_stat_database WHERE datname = %s", [name]
            ).fetchone()
            return int(row[0]) if row else 0

        yield read


def machine_busy(seconds: float = 2.0) -> tuple[float, list[float]]:
    """Share of all CPUs busy over a short sample, and the load averages."""
    a = cpu_snapshot([], "-")
    time.sleep(seconds)
    b = cpu_snapshot([], "-")
    total = b["machine_total"] - a["machine_total"]
    busy = 100 * (b["machine_busy"] - a["machine_busy"]) / total if total else 0.0
    return round(busy, 1), [round(x, 2) for x in os.getloadavg()]


def client_peers(pid: int, port: int) -> set[tuple[str, int]]:
    """The client addresses (ip, port) of the TCP connections a process holds on ``port``
    (its sockets' inodes in /proc/PID/fd, matched in /proc/PID/net/tcp)."""
    inodes = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    for fd in os.listdir(fd_dir):
        with contextlib.suppress(OSError):
            target = os.readlink(fd_dir / fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    peers = set()
    with open(f"/proc/{pid}/net/tcp") as f:
        next(f)
        for line in f:
            cols = line.split()
            local, remote, inode = cols[1], cols[2], cols[9]
            if inode in inodes and int(local.split(":")[1], 16) == port:
                ip_hex, port_hex = remote.split(":")
                ip = ".".join(str(b) for b in bytes.fromhex(ip_hex)[::-1])
                peers.add((ip, int(port_hex, 16)))
    return peers
