"""The world every any-input test requests: two organizers' events, entries and pages,
and who may ask (an anonymous visitor, an athlete, alice the organizer)."""

from __future__ import annotations

from typing import Any

import pytest

from pace.tests.any_input.inputs import seed


@pytest.fixture
def world(alpha_event: Any, bravo_event: Any, alice: Any, dave: Any, settings: Any) -> Any:
    # The limits have their own tests; here every request must reach the view behind them.
    settings.RATE_LIMITS = {}
    pools = seed(alpha_event, bravo_event, dave)
    users = {"anonymous": None, "athlete": dave, "organizer": alice}
    return pools, users
