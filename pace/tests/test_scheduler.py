"""The embedded beat runs every scheduled task by name: each must be registered."""

from __future__ import annotations

from celery import current_app
from django.conf import settings

from pace.scheduler import load_tasks


def test_it_finds_every_task_of_the_beat_schedule():
    load_tasks()
    wanted = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert wanted <= set(current_app.tasks)
    assert "tracking.tasks.thin_old_positions" in wanted
