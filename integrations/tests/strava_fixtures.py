"""Fixtures of the Strava tests: a fake Strava over HTTP, a clock they move, settings."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from integrations.models import StravaSubscription
from integrations.strava.client import StravaClient
from integrations.tests.fake_strava import FakeStrava
from pace.lib.testing import FakeClock

# Tuesday 1 December 2026, 10:40 UTC: five minutes before a quarter-hour.
T0 = datetime(2026, 12, 1, 10, 40, tzinfo=UTC).timestamp()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=T0)


@pytest.fixture
def strava(settings: Any, clock: FakeClock) -> Iterator[FakeStrava]:
    fake = FakeStrava(clock=clock)
    settings.STRAVA_API_URL = f"{fake.url}/api/v3"
    settings.STRAVA_OAUTH_URL = f"{fake.url}/oauth"
    settings.STRAVA_CLIENT_ID = "1234"
    settings.STRAVA_CLIENT_SECRET = "shh-client-secret"
    settings.STRAVA_ENABLED = True
    settings.STRAVA_WEBHOOK_VERIFY_TOKEN = "verify-me"
    settings.STRAVA_PAGE_SIZE = 10
    settings.STRAVA_FIRST_PAGES = 5
    settings.STRAVA_DRAIN_BATCH = 1000
    yield fake
    fake.close()


@pytest.fixture
def client_(clock: FakeClock, strava: FakeStrava) -> StravaClient:
    return StravaClient(clock=clock)


@pytest.fixture
def subscription(db: None) -> StravaSubscription:
    return StravaSubscription.objects.create(
        subscription_id=4242, callback_url="http://testserver/integrations/strava/webhook/"
    )
