"""Fixes in from phones and tracker apps: who sends them, are they sane, and storing them.

A fix is acknowledged only once it is in the database. Fixes arriving within a
short window are stored in one write (the group commit: COPY on PostgreSQL,
one ``bulk_create`` on SQLite) and every batch in it is acked after that commit.
Meanwhile they go to the race's buffer for its ticker: the live map does not wait
for the disk, only the ack does.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import math
import threading
import time
import weakref
from collections import OrderedDict, defaultdict
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from tracking.deviceids import is_valid_device_id
from tracking.engine import Fix
from tracking.livestore import live_store
from tracking.models import Position, Tracker

logger = logging.getLogger(__name__)

MAX_BATCH = 500
FUTURE_TOLERANCE_S = 300
PUBLISH_TIMEOUT_SECONDS = 2.0  # a hung Redis may delay an ack this long, no longer
_COLUMNS = (
    "race_id", "registration_id", "seq", "t", "lat", "lon",
    "alt", "acc", "spd", "hr", "cad", "bat", "received_at", "device_key",
)  # fmt: skip
_OPTIONAL = ("alt", "acc", "spd", "hr", "cad", "bat")


class PointError(ValueError):
    """Why a point was dropped (shown to the sender)."""


@dataclass(frozen=True, slots=True)
class Athlete:
    """A tracker's registration, as the ingest and the ``welcome`` frame need it."""

    id: int
    name: str
    bib: str
    race_id: int
    race_name: str
    race_start: float
    opens: float
    closes: float

    def welcome(self, last_seq: int | None) -> dict[str, Any]:
        return {
            "type": "welcome",
            "athlete": {"id": self.id, "name": self.name, "bib": self.bib},
            "race": {"id": self.race_id, "name": self.race_name, "start": self.race_start},
            "last_seq": last_seq,
        }

    def is_open(self, now: float) -> bool:
        return self.opens <= now <= self.closes


def tracking_window(*, start: dt.datetime, time_limit: dt.timedelta | None) -> tuple[float, float]:
    """When a race takes fixes: from a while before its start to a while after its limit."""
    opens = start - dt.timedelta(minutes=settings.TRACKING_OPENS_BEFORE_MINUTES)
    closes = (
        start
        + (time_limit or dt.timedelta(hours=24))
        + dt.timedelta(minutes=settings.TRACKING_CLOSES_AFTER_MINUTES)
    )
    return opens.timestamp(), closes.timestamp()


def _athlete(tracker: Tracker) -> Athlete:
    registration = tracker.registration
    race = registration.race
    opens, closes = tracking_window(start=race.start_time, time_limit=race.time_limit)
    return Athlete(
        id=registration.pk,
        name=registration.name,
        bib=registration.bib,
        race_id=race.pk,
        race_name=f"{race.event.name} {race.name}",
        race_start=race.start_time.timestamp(),
        opens=opens,
        closes=closes,
    )


def _active_trackers() -> Any:
    return Tracker.objects.filter(
        revoked_at__isnull=True, registration__status="confirmed"
    ).select_related("registration__race__event")


def is_plausible_key(value: object, *, max_length: int) -> bool:
    """Could ``value`` be a stored token? Asked before the database is: a NUL in a string
    is an error on PostgreSQL (a 500), and no key holds one. (Device ids have their own
    rule: ``deviceids.is_valid_device_id``.)"""
    return isinstance(value, str) and 0 < len(value) <= max_length and value.isprintable()


def athlete_for_token(token: str) -> Athlete | None:
    """The athlete a tracking token belongs to, or None if unknown or revoked."""
    if not is_plausible_key(token, max_length=64):
        return None
    tracker = _active_trackers().filter(token=token).first()
    return _athlete(tracker) if tracker else None


def athlete_for_device(device_id: str) -> Athlete | None:
    """The athlete an OsmAnd / Traccar device id is linked to. An id that breaks the rules
    (``deviceids.device_id_problem``: one stored before them, or a guess) matches none."""
    if not is_valid_device_id(device_id):
        return None
    tracker = _active_trackers().filter(device_id=device_id).first()
    return _athlete(tracker) if tracker else None


# Oldest first: a flood of unknown ids pushes out only the oldest entries, not every
# real phone's (each of those is looked up again within its 30 s anyway).
_devices: OrderedDict[str, tuple[float, Athlete | None]] = OrderedDict()
_devices_lock = threading.Lock()
DEVICE_CACHE_SECONDS = 30.0
DEVICE_CACHE_SIZE = 50_000


def remembered_device(device_id: str) -> tuple[bool, Athlete | None]:
    """(True, athlete or None) when this process looked ``device_id`` up in the last
    ``DEVICE_CACHE_SECONDS``; (False, None) when a lookup is needed."""
    now = time.monotonic()
    with _devices_lock:
        found = _devices.get(device_id)
        if found is None or now - found[0] >= DEVICE_CACHE_SECONDS:
            return False, None
        _devices.move_to_end(device_id)
    return True, found[1]


def athlete_for_device_cached(device_id: str) -> Athlete | None:
    """``athlete_for_device``, remembered for a while: OsmAnd sends one request per fix.

    A change of a tracker's device is forgotten at once (``deviceids``, after commit)."""
    known, athlete = remembered_device(device_id)
    if known:
        return athlete
    athlete = athlete_for_device(device_id)
    with _devices_lock:
        _devices[device_id] = (time.monotonic(), athlete)
        _devices.move_to_end(device_id)
        while len(_devices) > DEVICE_CACHE_SIZE:
            _devices.popitem(last=False)
    return athlete


def forget_devices(device_ids: list[str]) -> None:
    """Drop what this process remembers of these ids (their tracker changed)."""
    with _devices_lock:
        for device_id in device_ids:
            _devices.pop(device_id, None)


def device_key(device: str) -> int:
    """A stable 63-bit key of a device's name (0 for none): what ``Position`` keeps of it."""
    if not device:
        return 0
    return int.from_bytes(hashlib.blake2b(device.encode(), digest_size=8).digest()) >> 1 or 1


def last_seq(*, athlete_id: int, device: int = 0) -> int | None:
    """The highest batch ``seq`` stored for this athlete from this device (the
    ``welcome``'s ``last_seq``): each device counts its own ``seq``."""
    found = Position.objects.filter(
        registration_id=athlete_id, device_key=device, seq__gt=0
    ).aggregate(m=Max("seq"))
    return found["m"]


def _number(point: dict[str, Any], key: str, low: float, high: float) -> float | None:
    value = point.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise PointError(f"{key} must be a finite number")
    if not low <= value <= high:
        raise PointError(f"{key} must be within [{low:g}, {high:g}]")
    return float(value)


_RANGES = {
    "alt": (-1000.0, 10000.0),
    "acc": (0.0, 100_000.0),
    "spd": (0.0, 200.0),
    "hr": (0.0, 300.0),
    "cad": (0.0, 400.0),
    "bat": (0.0, 100.0),
}


def parse_point(point: Any, *, athlete: Athlete, now: float) -> dict[str, Any]:
    """A checked point (PROTOCOL.md §1), or PointError saying what is wrong."""
    return _checked(point, earliest=athlete.opens, now=now)


# No fix of a race Pace tracks is older; an earlier time is a broken clock or a wrong unit.
EARLIEST_FIX = dt.datetime(2000, 1, 1, tzinfo=dt.UTC).timestamp()


def check_fix(point: Any, *, now: float) -> dict[str, Any]:
    """``parse_point`` without the sender's race: what ``/osmand/`` checks before it looks the
    device up, so that a bad point is answered alike whether its device exists or not."""
    return _checked(point, earliest=EARLIEST_FIX, now=now)


def _checked(point: Any, *, earliest: float, now: float) -> dict[str, Any]:
    if not isinstance(point, dict):
        raise PointError("a point must be an object")
    for key in ("t", "lat", "lon"):
        if point.get(key) is None:
            raise PointError(f"{key} is missing")
    t = _number(point, "t", earliest, now + FUTURE_TOLERANCE_S)
    row = {
        "t": t,
        "lat": _number(point, "lat", -90, 90),
        "lon": _number(point, "lon", -180, 180),
    }
    for key in _OPTIONAL:
        row[key] = _number(point, key, *_RANGES[key])
    return row


def parse_points(
    points: list[Any], *, athlete: Athlete, now: float
) -> tuple[list[dict[str, Any]], list[str]]:
    """The valid points of a batch, and why the others were dropped."""
    valid, errors = [], []
    for index, point in enumerate(points):
        try:
            valid.append(parse_point(point, athlete=athlete, now=now))
        except PointError as exc:
            errors.append(f"point {index}: {exc}")
    return valid, errors


def as_rows(
    points: list[dict[str, Any]], *, athlete: Athlete, seq: int, device: int = 0
) -> list[tuple[Any, ...]]:
    """Points as ``Position`` rows in ``_COLUMNS`` order (``device``: its ``device_key``)."""
    received = timezone.now()
    return [
        (
            athlete.race_id,
            athlete.id,
            seq,
            dt.datetime.fromtimestamp(p["t"], tz=dt.UTC),
            p["lat"],
            p["lon"],
            *(p[key] for key in _OPTIONAL),
            received,
            device,
        )
        for p in points
    ]


def store_rows(rows: list[tuple[Any, ...]]) -> None:
    """Store fixes in one transaction; a fix already stored (a resend) is skipped."""
    if not rows:
        return
    with transaction.atomic():
        if connection.vendor == "postgresql":
            _copy_rows(rows)
        else:
            Position.objects.bulk_create(
                [Position(**dict(zip(_COLUMNS, row, strict=True))) for row in rows],
                batch_size=500,
                ignore_conflicts=True,
            )


def _copy_rows(rows: list[tuple[Any, ...]]) -> None:
    """COPY into a session-local staging table, then insert what is new in one statement."""
    columns = ", ".join(_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS tracking_position_in ("
            "race_id bigint, registration_id bigint, seq bigint, t timestamptz, lat float8, "
            "lon float8, alt float8, acc float8, spd float8, hr float8, cad float8, "
            "bat float8, received_at timestamptz, device_key bigint) ON COMMIT DELETE ROWS"
        )
        with cursor.copy(f"COPY tracking_position_in ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(
            f"INSERT INTO tracking_position ({columns}) SELECT {columns} "
            "FROM tracking_position_in ON CONFLICT DO NOTHING"
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

    def __init__(self, window: float, publish_window: float) -> None:
        self.window = window
        self.publish_window = min(publish_window, window)
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
            await asyncio.sleep(self.publish_window)
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
        loop = asyncio.get_running_loop()
        started = -math.inf
        while True:
            await self.store_wakeup.wait()
            # One commit a window at most: what comes meanwhile joins the next one.
            await asyncio.sleep(max(0.0, started + self.window - loop.time()))
            started = loop.time()
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
