"""Tracking's part of the demo: a demo race that starts over starts with no tracking.

The core's demo gives its live race a new gun time once the last run is old;
``python manage.py seed_demo`` hands those races to ``demo_seed`` here, in the same
transaction, so the live page never shows the last run's athletes on the new one.
"""

from __future__ import annotations

from collections.abc import Sequence

from events.models import Race
from tracking.retention import tracking_data_delete

__all__ = ["demo_seed"]


def demo_seed(*, restarted: Sequence[Race]) -> None:
    """Forget the fixes, posts, crossings and kudos of the races starting over."""
    if restarted:
        tracking_data_delete(races=Race.objects.filter(pk__in=[race.pk for race in restarted]))
