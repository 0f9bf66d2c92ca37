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
from results.models.tokens import RaceTiming, TimingToken

__all__ = [
    "ChipMapping",
    "RaceTiming",
    "Result",
    "ResultChange",
    "ResultsPublication",
    "TimingPoint",
    "TimingRead",
    "TimingRules",
    "TimingToken",
    "Wave",
    "WaveEntry",
]
