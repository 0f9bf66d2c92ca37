"""Storing fixes: checked points are acked only once they are in the database.

A fix is acknowledged only once it is stored. Fixes arriving within a
short window are stored in one write (the group commit: COPY on PostgreSQL,
one ``bulk_create`` on SQLite) and every batch in it is acked after that commit.
Meanwhile they go to the race's buffer for its ticker: the live map does not wait
for the disk, only the ack does.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import weakref
from collections import defaultdict
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
from django.conf import settings
from django.db import connection, transaction

from pace.lib.clock import SYSTEM, Clock
from tracking.ingest.fixes import COLUMNS
from tracking.live.engine import Fix
from tracking.live.livestore import live_store
from tracking.models import Position

logger = logging.getLogger(__name__)

PUBLISH_TIMEOUT_SECONDS = 2.0  # a hung Redis may delay an ack this long, no longer


def store_rows(rows: list[tuple[Any, ...]]) -> None:
    """Store fixes in one transaction; a fix already stored (a resend) is skipped."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        _copy_rows(rows)
        return
    with transaction.atomic():
        Position.objects.bulk_create(
            [Position(**dict(zip(COLUMNS, row, strict=True))) for row in rows],
            batch_size=500,
            ignore_conflicts=True,
        )


# The columns' types, in ``COLUMNS`` order: the binary COPY sends each
# value in its type's own wire format.
COPY_TYPES = (
    "int8", "int8", "int8", "timestamptz", "float8", "float8", "float8", "float8",
    "float8", "float8", "float8", "float8", "timestamptz", "int8",
)  # fmt: skip


def _copy_rows(rows: list[tuple[Any, ...]]) -> None:
    """COPY straight into the table; when a fix in it is already stored (a phone resent a
    batch whose ack it missed), COPY through a staging table instead, keeping what is new.

    Straight in, PostgreSQL spends half the CPU a row (6 us against 12.5, 5,000 rows a
    second at a big race: bench/README, "PostgreSQL's share"); a resend costs the failed
    COPY too, and is rare. Binary COPY: the text format formatted every float and time as
    text in this thread (holding the GIL the event loop needs) for PostgreSQL to parse
    back, 4-6 us of this process's CPU a row against 0.5."""
    try:
        # A transaction of its own (a savepoint in a caller's): the failed COPY is undone
        # alone.
        with transaction.atomic(), connection.cursor() as cursor:
            _copy(cursor, "tracking_position", rows)
    except psycopg.errors.UniqueViolation:
        with transaction.atomic():
            _copy_new_rows(rows)


def _copy(cursor: Any, table: str, rows: list[tuple[Any, ...]]) -> None:
    with cursor.copy(f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(list(COPY_TYPES))
        for row in rows:
            copy.write_row(row)


def _copy_new_rows(rows: list[tuple[Any, ...]]) -> None:
    """COPY into a session-local staging table, then insert what is new in one statement."""
    columns = ", ".join(COLUMNS)
    typed = ", ".join(f"{c} {t}" for c, t in zip(COLUMNS, COPY_TYPES, strict=True))
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS tracking_position_in ({typed}) ON COMMIT DELETE ROWS"
        )
        _copy(cursor, "tracking_position_in", rows)
        # Moved, not copied: ON COMMIT empties the staging table only when the outermost
        # transaction commits, so inside a caller's own transaction a second call would
        # otherwise insert the first one's rows again.
        cursor.execute(
            f"WITH moved AS (DELETE FROM tracking_position_in RETURNING {columns}) "
            f"INSERT INTO tracking_position ({columns}) SELECT {columns} FROM moved "
            "ON CONFLICT DO NOTHING"
        )


def rows_as_fixes(rows: list[tuple[Any, ...]]) -> dict[int, list[Fix]]:
    """Stored rows as the fixes each race's ticker takes, grouped by race."""
    by_race: dict[int, list[Fix]] = defaultdict(list)
    for race_id, athlete_id, _seq, t, lat, lon, _alt, _acc, _spd, hr, *_ in rows:
        by_race[race_id].append(Fix(athlete_id, t.timestamp(), lat, lon, hr))
    return by_race


# One writer thread per process keeps one database connection for every group commit.
_writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pace-commit")


def close_writer_connection() -> None:
    """Close the writer thread's database connection (tests, before dropping the database)."""
    _writer.submit(lambda: connection.close()).result()


Done = Callable[[BaseException | None], Awaitable[None]]


class GroupCommit:
    """Gathers what every tracker of this process sends for a short window, stores it once.

    Two tasks, so the live map never waits for the disk. Every ``publish_window``
    (a few hundredths of a second) the gatherer hands the fixes that came to their
    races' tickers, so that a fix just before a tick makes it, and passes them on to the
    writer. The writer stores what was passed on at most once every ``window`` (the
    group commit: in one thread with one database connection, in order), then awaits
    each batch's ``done`` in turn (it sends the ack). An ack therefore follows both the
    commit and the hand-over to the ticker. Under load the writer's groups grow; the
    windows do not.
    """

    def __init__(self, window: float, publish_window: float, *, clock: Clock = SYSTEM) -> None:
        self.window = window
        self.publish_window = min(publish_window, window)
        self.clock = clock  # both windows go by it (tests move it)
        self.pending: list[tuple[list[tuple[Any, ...]], Done]] = []
        self.wakeup = asyncio.Event()
        self.to_store: list[tuple[list[tuple[Any, ...]], list[Done]]] = []
        self.store_wakeup = asyncio.Event()
        self.executor = _writer
        self.tasks: list[asyncio.Task[None]] = []
        self.failures = 0  # failed commits so far, and the last one's error
        self.failure: BaseException | None = None

    def enqueue(self, rows: list[tuple[Any, ...]], done: Done) -> None:
        """Store ``rows`` with the next commit, then await ``done(None)`` (or the error)."""
        self.pending.append((rows, done))
        self.wakeup.set()
        if not self.tasks or any(task.done() for task in self.tasks):
            for task in self.tasks:
                task.cancel()
            self.tasks = [
                asyncio.ensure_future(self._gather()),
                asyncio.ensure_future(self._write()),
            ]

    async def submit(self, rows: list[tuple[Any, ...]]) -> None:
        """Store ``rows`` with the next commit; returns once they are committed."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        async def done(error: BaseException | None) -> None:
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(error)

        self.enqueue(rows, done)
        await future

    async def _gather(self) -> None:
        while True:
            await self.wakeup.wait()
            await self.clock.sleep(self.publish_window)
            batches, self.pending = self.pending, []
            self.wakeup.clear()
            failures = self.failures
            rows = [row for batch, _ in batches for row in batch]
            try:
                await asyncio.wait_for(_publish(rows), PUBLISH_TIMEOUT_SECONDS)
            except Exception:  # the map misses them; the database will not
                logger.exception("race tickers did not take %d fixes", len(rows))
            dones = [done for _, done in batches]
            if self.failures != failures:  # a commit failed while these were in hand
                await _answer(dones, self.failure)
                continue
            self.to_store.append((rows, dones))
            self.store_wakeup.set()

    async def _write(self) -> None:
        loop, clock = asyncio.get_running_loop(), self.clock
        started = -math.inf
        while True:
            await self.store_wakeup.wait()
            # One commit a window at most: what comes meanwhile joins the next one.
            await clock.sleep(max(0.0, started + self.window - clock.monotonic()))
            started = clock.monotonic()
            groups, self.to_store = self.to_store, []
            self.store_wakeup.clear()
            rows = [row for group, _ in groups for row in group]
            error = None
            try:
                await loop.run_in_executor(self.executor, _store_in_thread, rows)
            except Exception as exc:
                error = exc
                logger.error("group commit of %d fixes failed", len(rows), exc_info=error)
                # What waits behind a failed commit fails with it (the gatherer's batches
                # in hand too), so that no phone has a later batch stored past a lost one:
                # each reconnects, learns the last stored seq and resends from there.
                self.failures, self.failure = self.failures + 1, exc
                groups += self.to_store
                groups.append(([], [done for _, done in self.pending]))
                self.to_store, self.pending = [], []
                self.store_wakeup.clear()
            for _, dones in groups:
                await _answer(dones, error)


async def _answer(dones: list[Done], error: BaseException | None) -> None:
    """Tell each batch how its commit went, in order."""
    for done in dones:
        try:
            await done(error)
        except Exception:  # one closed socket must not keep the others waiting
            logger.debug("could not answer a batch", exc_info=True)


def _store_in_thread(rows: list[tuple[Any, ...]]) -> None:
    try:
        store_rows(rows)
    except Exception:
        connection.close()  # a broken connection must not poison the next commit
        raise


async def _publish(rows: list[tuple[Any, ...]]) -> None:
    store = live_store()
    for race_id, fixes in rows_as_fixes(rows).items():
        try:
            await store.publish_fixes(race_id, fixes)
        except Exception:
            # Stored and acked already: the live map misses them, the database does not.
            logger.exception(
                "could not hand %d fixes of race %s to its ticker", len(fixes), race_id
            )


_commits: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, GroupCommit] = (
    weakref.WeakKeyDictionary()
)
_lock = threading.Lock()


def group_commit() -> GroupCommit:
    """This event loop's group commit."""
    loop = asyncio.get_running_loop()
    with _lock:
        commit = _commits.get(loop)
        if commit is None:
            commit = GroupCommit(
                settings.TRACKING_COMMIT_WINDOW_SECONDS, settings.TRACKING_PUBLISH_WINDOW_SECONDS
            )
            _commits[loop] = commit
    return commit
