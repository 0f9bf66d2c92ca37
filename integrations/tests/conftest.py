"""Fixtures shared by integrations' tests (Strava's: integrations/tests/strava_fixtures.py)."""

from __future__ import annotations

from integrations.tests.strava_fixtures import clock, strava, subscription

__all__ = ["clock", "strava", "subscription"]
