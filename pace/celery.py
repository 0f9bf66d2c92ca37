"""The Celery app. Embedded default: tasks run in-process (always eager)."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pace.settings")

app = Celery("pace")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
