"""Run a test against tracking's tables as an older migration left them.

``tracking_at(name)`` migrates tracking back to ``name`` (the migrations after it undone,
data included), yields that state's models, and migrates forward again however the test
ends, so the next test finds today's schema. Only for ``transaction=True`` tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def _leaf() -> tuple[str, str]:
    executor = MigrationExecutor(connection)
    leaves = [n for n in executor.loader.graph.leaf_nodes() if n[0] == "tracking"]
    return leaves[0]


@contextmanager
def tracking_at(name: str) -> Iterator[Any]:
    """The historical apps at tracking's migration ``name``, its tables migrated there."""
    leaf = _leaf()
    executor = MigrationExecutor(connection)
    executor.migrate([("tracking", name)])
    try:
        yield executor.loader.project_state(("tracking", name)).apps
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate([leaf])


def migrate_tracking(name: str) -> Any:
    """Migrate tracking to ``name`` (forward or back); the historical apps there."""
    executor = MigrationExecutor(connection)
    executor.migrate([("tracking", name)])
    return executor.loader.project_state(("tracking", name)).apps
