"""Models of results: ``timing`` (points, waves, reads), ``standings`` (results), ``series``
(championships) and ``stages`` (cycling stage races)."""

from __future__ import annotations

from results.models.series import Series, SeriesRace, SeriesStanding, TieBreak
from results.models.stages import Stage, StagePoint, StageRace
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
    "Series",
    "SeriesRace",
    "SeriesStanding",
    "Stage",
    "StagePoint",
    "StageRace",
    "TieBreak",
    "TimingPoint",
    "TimingRead",
    "TimingRules",
    "TimingToken",
    "Wave",
    "WaveEntry",
]
