"""Many workers at once never send Strava more than the limits allow.

Eight threads stand for eight Celery workers: each with its own client and quota object,
sharing only the default cache (Redis when REDIS_URL is set, as in production), each
sending reads to the fake Strava as fast as it can until the quota refuses.
"""

from __future__ import annotations

import threading

from integrations.strava.client import StravaClient
from integrations.strava.quota import QuotaSpentError
from integrations.tests.fake_strava import FakeStrava
from pace.lib.testing import FakeClock


def test_eight_workers_together_stay_within_the_window(
    strava: FakeStrava, clock: FakeClock
) -> None:
    athlete = strava.add_athlete(7, activities=10)
    refused = []

    def worker() -> None:
        client = StravaClient(clock=clock)
        while True:
            try:
                client.athlete_activities(athlete.access_token, page=1, per_page=10, before=2**31)
            except QuotaSpentError as exc:
                refused.append(exc.reset_at)
                return

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    reads = [r for r in strava.requests if r == ("GET", "/api/v3/athlete/activities")]
    assert len(reads) == 100  # every read the window allows, and not one more
    assert strava.responses_429 == 0
    assert len(refused) == 8 and set(refused) == {clock.time() + 5 * 60}  # 10:45
