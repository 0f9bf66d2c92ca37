"""The group commit stores every column of a fix as it was checked, once (PostgreSQL's
binary COPY and SQLite's bulk insert alike)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracking.ingest.commit import store_rows
from tracking.ingest.fixes import _RANGES, COLUMNS, OPTIONAL
from tracking.models import Position
from tracking.sim.testrace import load_test_race_create

pytestmark = pytest.mark.django_db

times = st.datetimes(
    min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=st.just(dt.UTC)
)


def _optional(key: str) -> st.SearchStrategy[float | None]:
    low, high = _RANGES[key]  # what a checked point may hold
    return st.none() | st.floats(low, high, allow_nan=False)


fixes = st.fixed_dictionaries(
    {
        "seq": st.integers(0, 2**63 - 1),
        "t": times,
        "lat": st.floats(-90, 90, allow_nan=False),
        "lon": st.floats(-180, 180, allow_nan=False),
        **{key: _optional(key) for key in OPTIONAL},
        "received_at": times,
        "device_key": st.integers(-(2**63), 2**63 - 1),
    }
)


@pytest.fixture
def race() -> dict[str, Any]:
    return load_test_race_create(athletes=2)


def _rows(race: dict[str, Any], batch: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    athlete = race["athletes"][0]["id"]
    return [(race["race_id"], athlete, *(f[c] for c in COLUMNS[2:])) for f in batch]


def _unique(batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One fix per (seq, t), the first: what the uniqueness keeps."""
    return list({(f["seq"], f["t"]): f for f in reversed(batch)}.values())


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    first=st.lists(fixes, min_size=1, max_size=20),
    later=st.lists(fixes, max_size=20),
    resent=st.integers(0, 20),
    twice=st.integers(0, 20),
)
def test_every_value_is_stored_as_it_was_checked_and_a_resend_adds_nothing(
    race: dict[str, Any],
    first: list[dict[str, Any]],
    later: list[dict[str, Any]],
    resent: int,
    twice: int,
) -> None:
    """A batch, then the same batch again (a phone that missed its ack), then a group
    holding part of it, new fixes and a fix twice (two sockets of one phone resending):
    every fix stored once, each column as it was checked."""
    athlete = race["athletes"][0]["id"]
    Position.objects.filter(registration_id=athlete).delete()
    first = _unique(first)
    stored_first = {(f["seq"], f["t"]) for f in first}
    new = [f for f in _unique(later) if (f["seq"], f["t"]) not in stored_first]
    store_rows(_rows(race, first))
    store_rows(_rows(race, first))
    store_rows(_rows(race, first[:resent] + new + new[:twice]))
    stored = {
        (p["seq"], p["t"]): p
        for p in Position.objects.filter(registration_id=athlete).values(*COLUMNS)
    }
    assert len(stored) == len(first) + len(new)
    for f in first + new:
        got = stored[(f["seq"], f["t"])]
        assert got["race_id"] == race["race_id"] and got["registration_id"] == athlete
        for column in COLUMNS[2:]:
            assert got[column] == f[column], column
