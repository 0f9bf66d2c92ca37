"""The servers a benchmark starts: where Pace and its daphne are, the host they listen on,
the log line, and the daphne processes (started on one shared socket, stopped on exit)."""

from __future__ import annotations

import argparse
import contextlib
import http.client
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
DAPHNE = str(Path(sys.executable).parent / "daphne")
HOST = "127.0.0.1"


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def run_until_stopped(
    bench: Callable[[argparse.Namespace, contextlib.ExitStack], dict[str, Any]],
    args: argparse.Namespace,
) -> dict[str, Any] | None:
    """Run ``bench(args, stack)``; what it puts on the stack (servers, pools, browsers) is
    undone on the way out, on Ctrl-C and on SIGTERM too (then: None, logged)."""

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    try:
        with contextlib.ExitStack() as stack:
            return bench(args, stack)
    except KeyboardInterrupt:
        log("interrupted")
        return None


# --- servers -------------------------------------------------------------------------


class Servers:
    """N daphne processes accepting connections on one listening socket."""

    def __init__(self, n: int, port: int, env: dict[str, str], logdir: Path, app: str) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((HOST, port))
        self.sock.listen(4096)
        self.sock.set_inheritable(True)
        self.port = self.sock.getsockname()[1]
        self.logdir = logdir
        self.procs: list[subprocess.Popen[bytes]] = []
        self.logs = []
        fd = self.sock.fileno()
        # -v 0: no access log (each line would cost CPU; a load balancer logs requests).
        cmd = [DAPHNE, "--fd", str(fd), "-v", "0", app]
        for i in range(n):
            logf = open(logdir / f"daphne-{i}.log", "wb")  # noqa: SIM115
            self.logs.append(logf)
            self.procs.append(
                subprocess.Popen(
                    cmd,
                    cwd=ROOT,
                    env=env,
                    pass_fds=(fd,),
                    stdout=logf,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def log_tail(self, chars: int = 3000) -> str:
        return (self.logdir / "daphne-0.log").read_text(errors="replace")[-chars:]

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for p in self.procs:
                if p.poll() is not None:
                    raise RuntimeError(f"daphne exited ({p.returncode}):\n{self.log_tail()}")
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=5)
                conn.request("GET", "/readyz")
                resp = conn.getresponse()
                body = resp.read()
                conn.close()
                if resp.status == 200:
                    # Each process imports Django before it accepts; let the others finish.
                    time.sleep(2.0)
                    return
                log(f"/readyz: {resp.status} {body[:200]!r}")
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError("daphne did not become ready")

    def stop(self) -> None:
        stop_processes(self.procs, self.logs, self.sock)


def stop_processes(
    procs: Iterable[subprocess.Popen[bytes]], logs: Iterable[IO[bytes]], sock: socket.socket
) -> None:
    """Terminate the servers (kill what is still up after 10 s), close their logs and socket."""
    procs = list(procs)
    for p in procs:
        if p.poll() is None:
            p.terminate()
    deadline = time.monotonic() + 10
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    for f in logs:
        f.close()
    sock.close()
