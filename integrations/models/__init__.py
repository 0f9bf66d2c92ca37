"""Models of integrations: ``connections`` (a provider account and its sealed tokens),
``activities`` (workouts and their streams, from Strava or uploads) and ``strava`` (the
backfill's progress, its queue of API calls, the webhook subscription)."""

from __future__ import annotations

from integrations.models.activities import Activity, ActivitySource, ActivityStream
from integrations.models.connections import Connection, ConnectionStatus, Provider
from integrations.models.music import Play, PlaySource
from integrations.models.strava import (
    JobKind,
    JobPriority,
    StravaJob,
    StravaSubscription,
    StravaSync,
)

__all__ = [
    "Activity",
    "ActivitySource",
    "ActivityStream",
    "Connection",
    "ConnectionStatus",
    "JobKind",
    "JobPriority",
    "Play",
    "PlaySource",
    "Provider",
    "StravaJob",
    "StravaSubscription",
    "StravaSync",
]
