"""Results in the back office: the timing desk (``admin_timing``), timing tokens and chip
files (``admin_tokens``)."""

from __future__ import annotations

from results import admin_timing, admin_tokens  # noqa: F401
