"""The embedded beat runs every scheduled task by name: each must be registered."""

from __future__ import annotations

import datetime as dt

import pytest
from celery import current_app
from django.conf import settings
from django.utils import timezone

from events.models import Registration
from events.registration import registration_create
from events.tests.factories import ENTRY_FORM
from pace.scheduler import load_tasks, run_due


def test_it_finds_every_task_of_the_beat_schedule():
    load_tasks()
    wanted = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert wanted <= set(current_app.tasks)
    assert "tracking.tasks.thin_old_positions" in wanted


@pytest.mark.django_db
def test_it_runs_the_beat_schedule_in_the_embedded_scheduler(alpha_event):
    race = alpha_event.races.get()
    race.capacity = 1
    race.save()
    entry = {**ENTRY_FORM, "birth_date": dt.date(1980, 5, 2)}
    held = registration_create(race=race, user=None, entry=entry, answers={})
    Registration.objects.filter(pk=held.pk).update(
        status="pending", hold_expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    load_tasks()  # as the embedded beat's thread does first (the worker may not have yet)
    every_minute = [
        name
        for name, entry in settings.CELERY_BEAT_SCHEDULE.items()
        if float(entry["schedule"]) <= 60.0
    ]
    last: dict[str, float] = {}
    assert "release-expired-places" in every_minute
    assert run_due(last, 1000.0) == every_minute
    assert run_due(last, 1010.0) == []
    assert Registration.objects.get(pk=held.pk).status == "cancelled"
