"""Strava backfill benchmark, in simulated time, against the fake Strava over HTTP.

``make bench BENCH=strava`` runs ``python -m bench.strava``: 50 athletes with 3,000
activities each connect at midnight UTC; the queue is drained by the real code
(``integrations.strava.backfill.drain``: claims, quota in Redis, HTTP to the fake, rows in
PostgreSQL) for two simulated days, the clock jumping to each quota reset instead of
waiting; at 13:00 on the second day, with that day's quota long spent on the backlog, a
new athlete connects. Reports the share of Strava's read quota used each day, the 429s
(the fake answers 429 past its limits, as Strava does) and how long the newcomer waited
for their first page, and writes ``bench/results/strava.json``. Targets (issue 14): at
least 90 % of the quota used, no 429.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.http import django_on_fresh_database, write_json
from bench.servers import log

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "strava.json"
KEY_PREFIX = "pacebench-strava"
T0 = datetime(2026, 12, 1, tzinfo=UTC).timestamp()
SECONDS_PER_CALL = 0.3  # simulated time a Strava call takes


def setup(args: argparse.Namespace, fake_url: str) -> None:
    env = {
        "STRAVA_CLIENT_ID": "1234", "STRAVA_CLIENT_SECRET": "bench-secret",
        "STRAVA_API_URL": f"{fake_url}/api/v3", "STRAVA_OAUTH_URL": f"{fake_url}/oauth",
        # Connecting enqueues a drain task; here the loop below drains, on the simulated clock.
        "STRAVA_DRAIN_BATCH": "0",
    }  # fmt: skip
    django_on_fresh_database(
        database_url=args.database_url, redis_url=args.redis_url, key_prefix=KEY_PREFIX, env=env
    )
    from pace.celery import app

    app.conf.task_always_eager = True


def connect(fake: Any, clock: Any, n: int, activities: int) -> Any:
    from django.contrib.auth import get_user_model

    from integrations.strava.client import StravaClient
    from integrations.strava.connect import strava_connected
    from integrations.tokens import TokenSet

    athlete = fake.add_athlete(n, activities=activities)
    body = fake.token_body(athlete)
    user = get_user_model().objects.create_user(username=f"athlete{n}", email=f"a{n}@example.com")
    return strava_connected(
        user=user, athlete_id=str(n), display_name=f"Athlete {n}",
        tokens=TokenSet(body["access_token"], body["refresh_token"],
                        datetime.fromtimestamp(body["expires_at"], tz=UTC)),
        scopes="read,activity:read_all", client=StravaClient(clock=clock), clock=clock,
    )  # fmt: skip


def run(args: argparse.Namespace) -> dict[str, Any]:
    from integrations.tests.fake_strava import FakeStrava
    from pace.lib.testing import FakeClock

    clock = FakeClock(start=T0)
    fake = FakeStrava(clock=clock)
    setup(args, fake.url)
    from integrations.models import Activity, ActivityStream
    from integrations.strava.backfill import drain
    from integrations.strava.client import StravaClient

    started = time.monotonic()
    for n in range(1, args.athletes + 1):
        connect(fake, clock, n, args.activities)
        clock.elapsed += 2 * SECONDS_PER_CALL
    end = T0 + args.days * 86_400
    newcomer_at = T0 + 86_400 + 13 * 3600
    newcomer = None
    waited: float | None = None
    client = StravaClient(clock=clock)
    while clock.time() < end:
        if newcomer is None and clock.time() >= newcomer_at:
            joined = clock.time()
            newcomer = connect(fake, clock, 999, args.activities)
        watching = newcomer.user_id if newcomer is not None and waited is None else None
        if watching is not None and Activity.objects.filter(user_id=watching).exists():
            waited = clock.time() - joined
        result = drain(max_calls=100, clock=clock, client=client)
        clock.elapsed += result.calls * SECONDS_PER_CALL
        if result.deferred_until is not None:
            target = min(result.deferred_until, newcomer_at if newcomer is None else end, end)
            clock.elapsed = max(clock.elapsed, target - clock.start)
        elif not result.more:
            break
    wall = time.monotonic() - started
    days = []
    for day in range(args.days):
        start = int(T0 + day * 86_400)
        reads = fake.usage.get(("read", "day", start), 0)
        days.append({"day": day + 1, "reads": reads, "read_limit": fake.limits["read"][1],
                     "used": round(reads / fake.limits["read"][1], 4)})  # fmt: skip
    fake.close()
    return {
        "athletes": args.athletes,
        "activities_each": args.activities,
        "simulated_days": args.days,
        "days": days,
        "responses_429": fake.responses_429,
        "requests": len(fake.requests),
        "activities_imported": Activity.objects.count(),
        "streams_imported": ActivityStream.objects.count(),
        "newcomer_connected_at_utc": "day 2 13:00",
        "newcomer_first_page_wait_s": waited,
        "fresh_reserve": float(os.environ.get("STRAVA_FRESH_RESERVE", "0.05")),
        "wall_seconds": round(wall, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--athletes", type=int, default=50)
    parser.add_argument("--activities", type=int, default=3000)
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_STRAVA_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pace_bench_strava"
        ),
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/1")
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    report = run(args)
    for day in report["days"]:
        log(f"day {day['day']}: {day['reads']} of {day['read_limit']} reads ({day['used']:.1%})")
    log(f"429 responses: {report['responses_429']}; requests: {report['requests']}")
    log(f"newcomer's first page after {report['newcomer_first_page_wait_s']} s (simulated)")
    log(
        f"imported {report['activities_imported']} activities, "
        f"{report['streams_imported']} streams in {report['wall_seconds']} s of wall time"
    )
    write_json(report, args.out)


if __name__ == "__main__":
    main()
