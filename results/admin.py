"""Results in the back office: the timing desk (``admin_timing``), timing tokens and chip
files (``admin_tokens``), results' state and exports (``admin_results``), series and stage races
(``admin_series``)."""

from __future__ import annotations

from results import admin_results, admin_series, admin_timing, admin_tokens  # noqa: F401
