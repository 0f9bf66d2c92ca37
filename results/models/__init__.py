"""Models of results; see ``timing`` (points, waves, reads) and ``standings`` (results)."""

from __future__ import annotations

from results.models.standings import Result, ResultChange, ResultsPublication
from results.models.timing import (
    ChipMapping,
    TimingPoint,
    TimingRead,
    TimingRules,
    Wave,
    WaveEntry,
)

__all__ = [
    "ChipMapping",
    "Result",
    "ResultChange",
    "ResultsPublication",
    "TimingPoint",
    "TimingRead",
    "TimingRules",
    "Wave",
    "WaveEntry",
]
