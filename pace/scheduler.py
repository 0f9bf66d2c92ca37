"""The embedded topology's beat: runs ``CELERY_BEAT_SCHEDULE`` in one daemon thread.

Production runs Celery beat (django-celery-beat) instead; this exists so that
`make run` without Redis still expires payment holds and offers freed places.
"""

from __future__ import annotations

import logging
import threading
import time

from celery import current_app
from django.conf import settings
from django.db import close_old_connections

logger = logging.getLogger(__name__)
_started = threading.Event()


def _interval(schedule: object) -> float:
    seconds = getattr(schedule, "total_seconds", None)
    # A schedule without total_seconds() is a number of seconds (settings hold no crontabs).
    return float(seconds() if callable(seconds) else schedule)  # type: ignore[arg-type]


def load_tasks() -> None:
    """Import every app's ``tasks`` module: Celery's autodiscovery waits for a worker to
    start, and the embedded topology has none."""
    current_app.loader.import_default_modules()


def run_due(last_run: dict[str, float], now: float) -> list[str]:
    """Run every entry of the beat schedule whose interval has passed; returns their names."""
    ran = []
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        if now - last_run.get(name, 0.0) < _interval(entry["schedule"]):
            continue
        last_run[name] = now
        try:
            current_app.tasks[entry["task"]].apply()
        except Exception:  # one failing task must not stop the others or the thread
            logger.exception("embedded scheduler: %s failed", name)
        ran.append(name)
    return ran


def start_embedded_scheduler(tick: float = 5.0) -> None:
    """Start the thread once per process."""
    if _started.is_set():
        return
    _started.set()

    def loop() -> None:
        load_tasks()
        last_run: dict[str, float] = {}
        while True:
            run_due(last_run, time.monotonic())
            # The thread lives as long as the process: drop connections that went stale.
            close_old_connections()
            time.sleep(tick)

    threading.Thread(target=loop, name="pace-embedded-beat", daemon=True).start()
