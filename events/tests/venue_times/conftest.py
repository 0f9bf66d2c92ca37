"""Every venue-time test runs at one fixed "now", with alice signed in as Alpha's owner."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.test import Client

from events.tests.venue_times.venue import NOW


@pytest.fixture(autouse=True)
def _now() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def as_alice(client: Client, alice: Any, alpha: Any) -> Client:
    client.force_login(alice)
    return client
