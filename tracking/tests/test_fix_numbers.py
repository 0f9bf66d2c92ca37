"""A fix's numbers (PROTOCOL.md §1): taken as floats when they are finite numbers in
range, else dropped with the reason, whatever JSON value was sent."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracking.ingest.fixes import PointError, _number

JSON_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([10**400, -(10**400)]),  # past a float's range
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
)


def _expected(value: Any, low: float, high: float) -> float | str | None:
    """The rule as PROTOCOL.md words it: a float, or the reason."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "must be a finite number"
    if isinstance(value, float) and not math.isfinite(value):
        return "must be a finite number"
    if not low <= value <= high:
        return f"must be within [{low:g}, {high:g}]"
    return float(value)


@given(value=JSON_VALUES, bounds=st.sampled_from([(-90.0, 90.0), (0.0, 300.0), (-1000.0, 1e4)]))
def test_any_value_is_a_float_in_range_or_a_reason(value: Any, bounds: tuple[float, float]) -> None:
    expected = _expected(value, *bounds)
    if isinstance(expected, str):
        with pytest.raises(PointError) as raised:
            _number({"lat": value}, "lat", *bounds)
        assert str(raised.value) == f"lat {expected}"
    else:
        got = _number({"lat": value}, "lat", *bounds)
        assert got == expected and (got is None or type(got) is float)


@pytest.mark.parametrize(
    "value", [True, False, math.nan, math.inf, -math.inf, "1", 91, -90.5, 10**400]
)
def test_the_values_a_fast_path_could_let_through_are_refused(value: Any) -> None:
    with pytest.raises(PointError):
        _number({"lat": value}, "lat", -90.0, 90.0)
