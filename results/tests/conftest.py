from __future__ import annotations

from typing import Any

import pytest

from events.tests.factories import make_event, make_race


@pytest.fixture
def race(alpha: Any) -> Any:
    """A 10 km race of Alpha, starting at 09:00 UTC, without a course."""
    return make_race(make_event(alpha, "Alpha 10K"), "10K")


@pytest.fixture(autouse=True)
def _fresh_setups() -> None:
    """Race ids come back after a test's rollback: no copy of a setup outlives its test."""
    from results.rules import forget_setups

    forget_setups()
