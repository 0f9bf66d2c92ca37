"""Which of an athlete's Strava activities was their race: for their own result page.

``results`` (above this app) calls ``race_activity(registration=...)``; per Strava's terms
the answer is shown to that athlete only, never on the public, cached page itself (the
page loads it from ``views.race_activity``, which answers its owner alone).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from integrations.models import Activity, ActivitySource

# A race's activity starts near the gun: warm-ups are recorded apart, late starts happen.
WINDOW = timedelta(hours=3)


def race_activity(*, registration: Any) -> Activity | None:
    """The athlete's Strava activity of the race: started within 3 h of the race's start,
    the closest in distance (then in start time) to the race's."""
    if registration.user_id is None:
        return None
    race = registration.race
    candidates = Activity.objects.filter(
        user_id=registration.user_id,
        source=ActivitySource.STRAVA,
        start__gte=race.start_time - WINDOW,
        start__lte=race.start_time + WINDOW,
    )
    distance = float(race.distance_m or 0)

    def closeness(activity: Activity) -> tuple[float, float]:
        off = abs(activity.distance - distance) / distance if distance else 0.0
        return (round(off, 2), abs((activity.start - race.start_time).total_seconds()))

    return min(candidates, key=closeness, default=None)
