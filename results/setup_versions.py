"""Telling live reads that a race's setup changed (``ResultsPublication.setup_version``).

The live path keeps each race's setup (rules, points, waves, categories, start) per
process (``rules.setup_of``) and reads it again when the version moves on. Every
save and delete of those bumps it: receivers below, connected in ``apps.ready``;
writers that skip signals (``bulk_create``, ``update``) call ``bump_setup``.
"""

from __future__ import annotations

from typing import Any

from django.db.models import F
from django.db.models.signals import post_delete, post_save

from events.models import Event, Race, RaceCategory
from results.models import ResultsPublication, TimingPoint, TimingRules, Wave


def bump_setup(*, race_ids: list[int] | None = None, event_id: int | None = None) -> None:
    """Make every process read these races' setups again before their next live read."""
    rows = ResultsPublication.objects.all()
    if event_id:
        rows = rows.filter(race__event_id=event_id)
    else:
        assert race_ids is not None  # one of the two is given
        rows = rows.filter(race_id__in=race_ids)
    rows.update(setup_version=F("setup_version") + 1)


def _of_race(sender: Any, instance: Any, **kwargs: Any) -> None:
    bump_setup(race_ids=[instance.race_id])


def _race(sender: Any, instance: Race, **kwargs: Any) -> None:
    bump_setup(race_ids=[instance.pk])


def _event(sender: Any, instance: Event, **kwargs: Any) -> None:
    bump_setup(event_id=instance.pk)  # its time zone decides the race day (ages)


def connect() -> None:
    for model in (TimingRules, TimingPoint, Wave, RaceCategory):
        for signal in (post_save, post_delete):
            signal.connect(_of_race, sender=model, dispatch_uid=f"results.setup.{model.__name__}")
    post_save.connect(_race, sender=Race, dispatch_uid="results.setup.race")
    post_save.connect(_event, sender=Event, dispatch_uid="results.setup.event")
