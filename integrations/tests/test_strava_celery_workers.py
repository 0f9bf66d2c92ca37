"""Three real Celery worker processes drain one Strava backlog on Redis, as in production,
and together never send more reads in a quarter-hour than the shared quota allows.

Runs only on the production topology (PostgreSQL and Redis, as on CI): the workers read
the test database and share this process's cache keys (its Redis and key prefix)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connection

from events.tests.factories import make_user
from integrations.models import StravaJob
from integrations.strava.client import StravaClient
from integrations.strava.connect import strava_connected
from integrations.strava.quota import window_start
from integrations.tests.fake_strava import FakeStrava
from integrations.tokens import TokenSet
from pace.lib.clock import SYSTEM

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(
    not django_settings.REDIS_URL
    or "postgresql" not in django_settings.DATABASES["default"]["ENGINE"],
    reason="needs PostgreSQL and Redis (the production topology)",
)
READS_PER_WINDOW = 30


def _database_url() -> str:
    d = connection.settings_dict
    auth = d["USER"] + (f":{d['PASSWORD']}" if d.get("PASSWORD") else "")
    return f"postgres://{auth}@{d['HOST'] or '127.0.0.1'}:{d['PORT'] or 5432}/{d['NAME']}"


@pytest.mark.django_db(transaction=True)
def test_three_workers_share_one_quota(settings: Any) -> None:
    fake = FakeStrava(clock=SYSTEM)
    fake.limits["read"] = (READS_PER_WINDOW, 1000)
    settings.STRAVA_API_URL, settings.STRAVA_OAUTH_URL = f"{fake.url}/api/v3", f"{fake.url}/oauth"
    settings.STRAVA_CLIENT_ID, settings.STRAVA_CLIENT_SECRET = "1234", "shh"
    settings.STRAVA_PAGE_SIZE = 10
    settings.STRAVA_DRAIN_BATCH = 0  # nothing drained here: the workers do it
    settings.STRAVA_FRESH_RESERVE = 0.0
    athlete = fake.add_athlete(7, activities=400)
    body = fake.token_body(athlete)
    strava_connected(
        user=make_user("ann"), athlete_id="7", display_name="Ann",
        tokens=TokenSet(body["access_token"], body["refresh_token"],
                        datetime.fromtimestamp(body["expires_at"], tz=UTC)),
        scopes="read", client=StravaClient(),
    )  # fmt: skip
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": django_settings.REDIS_URL,
        "CACHE_KEY_PREFIX": django_settings.REDIS_KEY_PREFIX,
        "PYTEST_XDIST_WORKER": "",
        "STRAVA_CLIENT_ID": "1234", "STRAVA_CLIENT_SECRET": "shh",
        "STRAVA_API_URL": settings.STRAVA_API_URL, "STRAVA_OAUTH_URL": settings.STRAVA_OAUTH_URL,
        "STRAVA_PAGE_SIZE": "10", "STRAVA_DRAIN_BATCH": "5", "STRAVA_FRESH_RESERVE": "0",
        "STRAVA_READ_LIMIT_15MIN": str(READS_PER_WINDOW),
        "EMBEDDED_SCHEDULER": "0", "LOG_LEVEL": "WARNING",
    }  # fmt: skip
    queue = f"hf-strava-{os.getpid()}"
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "pace",
                "worker",
                "-P",
                "solo",
                "-Q",
                queue,
                "-n",
                f"w{i}-{queue}@%h",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
                "-l",
                "WARNING",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i in range(3)
    ]
    try:
        from integrations.tasks import strava_drain

        # To the workers, through Redis (the conftest fixture restores it).
        strava_drain.app.conf.task_always_eager = False
        for _ in range(6):  # more drains than workers: they run side by side
            strava_drain.apply_async(queue=queue)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            window = window_start(SYSTEM.time())
            reads = fake.usage.get(("read", "15", window), 0)
            if reads >= READS_PER_WINDOW:
                break
            time.sleep(0.5)  # waiting for other processes' work, not for time to pass
        time.sleep(3)  # workers still running would send more now, were the quota not shared
        per_window = {k[2]: v for k, v in fake.usage.items() if k[:2] == ("read", "15")}
        assert max(per_window.values()) <= READS_PER_WINDOW, per_window
        assert sum(per_window.values()) >= READS_PER_WINDOW - 2, per_window  # they did work
        assert fake.responses_429 == 0
        assert StravaJob.objects.exists()  # the rest waits for the next window
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=20)
        fake.close()
