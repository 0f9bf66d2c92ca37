"""A real Pace server (daphne, WebSockets included) in a subprocess, on a temporary SQLite file.

Django's ``live_server`` serves HTTP only; live tracking needs its sockets and its
in-process ticker (``EMBEDDED_TICKERS``, the default without ``REDIS_URL``). Migrating
a fresh SQLite file takes a while, so a migrated template is kept per set of
migrations and copied for each server.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pace.lib.testing import eventually

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = Path(os.environ.get("PACE_TEST_DB_CACHE", "/tmp/pace-test-db"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sqlite_env(db: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "PYTEST_XDIST_WORKER")}
    env |= {
        "DATABASE_URL": f"sqlite:///{db}",
        "DEBUG": "1",  # static files straight from static/, no collectstatic
        "SECRET_KEY": "pace-tests-only",
        "MAP_TILE_URL": "",
        "EMBEDDED_TICKERS": "1",
        "EMBEDDED_SCHEDULER": "0",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"manage.py {' '.join(args)} failed:\n{done.stderr[-3000:]}"
    return done.stdout


def _from_template(path: Path, template: Path, build: Callable[[Path], object]) -> Path:
    """Copy ``template`` to ``path``, made by ``build`` first if no test made it yet."""
    if not template.exists():
        TEMPLATES.mkdir(parents=True, exist_ok=True)
        building = template.with_suffix(f".{os.getpid()}.tmp")
        build(building)
        os.replace(building, template)
    shutil.copyfile(template, path)
    return path


def _digest(sources: Iterable[Path], *, also: str = "") -> str:
    digest = hashlib.sha256()
    for source in sorted(sources):
        digest.update(source.name.encode() + source.read_bytes())
    digest.update(also.encode())
    return digest.hexdigest()[:16]


def migrated_db(path: Path) -> Path:
    """A migrated SQLite file at ``path`` (copied from the cached template)."""
    template = TEMPLATES / f"{_digest(ROOT.glob('*/migrations/*.py'))}.sqlite3"
    return _from_template(
        path, template, lambda db: manage(sqlite_env(db), "migrate", "--noinput", timeout=300)
    )


def seeded_db(path: Path) -> Path:
    """A SQLite file at ``path`` with the demo loaded (``seed_demo`` takes half a minute of
    CPU), copied from a template kept per day (the demo's dates follow it), migrations and
    demo code. Its live demo race started when the template was made: a test that runs it
    restarts it first (``events.demo.live.restart_live_race``)."""
    demo = [
        *ROOT.glob("events/demo/*.py"), *ROOT.glob("*/demo*.py"), *ROOT.glob("*/sim/demo.py"),
        ROOT / "pace/management/commands/seed_demo.py", ROOT / "pace/lib/gpxsynth.py",
    ]  # fmt: skip
    digest = _digest([*ROOT.glob("*/migrations/*.py"), *demo], also=dt.date.today().isoformat())

    def build(db: Path) -> None:
        migrated_db(db)
        manage(sqlite_env(db), "seed_demo", timeout=600)

    return _from_template(path, TEMPLATES / f"seeded-{digest}.sqlite3", build)


@dataclass
class Server:
    url: str
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    db: Path | None = None  # the SQLite file, when it is one

    def manage(self, *args: str, timeout: float = 120) -> str:
        return manage(self.env, *args, timeout=timeout)

    def test_race(self, athletes: int) -> dict[str, Any]:
        return json.loads(self.manage("create_test_race", "--athletes", str(athletes), "--json"))

    def simulate(self, race_id: int, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "manage.py", "simulate_race", str(race_id), "--url", self.url, *args],
            cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip


@contextmanager
def daphne_server(
    tmp: Path, *, env: dict[str, str] | None = None, options: tuple[str, ...] = ()
) -> Iterator[Server]:
    """Serve Pace with daphne on a free port until the block ends: on a fresh SQLite file,
    or in the environment given (a migrated database of its own); ``options``: more of
    daphne's command line."""
    db = None
    if env is None:
        db = migrated_db(tmp / "db.sqlite3")
        env = sqlite_env(db)
    port = _free_port()
    log = (tmp / "daphne.log").open("wb")
    command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), *options]
    process = subprocess.Popen(
        [*command, "pace.asgi:application"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"

    def answers() -> None:
        if process.poll() is not None:
            raise RuntimeError("daphne exited")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2):
                pass
        except OSError as error:
            raise AssertionError("daphne is not answering yet") from error

    try:
        try:
            eventually(answers, timeout=30)
        except (AssertionError, RuntimeError):
            log.flush()
            started = (tmp / "daphne.log").read_text()
            raise RuntimeError(f"daphne did not start:\n{started}") from None
        yield Server(url=url, env=env, process=process, db=db)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
