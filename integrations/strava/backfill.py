"""Importing an athlete's Strava history under the shared quota.

On connect the first page is fetched while the athlete waits; the next
``STRAVA_FIRST_PAGES`` pages and the first pages' streams are queued first in line
(``JobPriority.FRESH``), older pages and their streams behind everyone's fresh work.
The queue lives in the database (``StravaJob``); ``drain`` claims jobs in priority order
with a conditional UPDATE and makes each one's call while the quota allows. When it does
not, ``drain`` answers when to come back and the task is scheduled for then (the next
quarter-hour) or left to the beat (the next day): no worker sleeps.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils.dateparse import parse_datetime

from integrations.models import (
    Activity,
    ActivitySource,
    ActivityStream,
    Connection,
    ConnectionStatus,
    JobKind,
    JobPriority,
    StravaJob,
    StravaSync,
)
from integrations.strava.client import (
    StravaAuthError,
    StravaClient,
    StravaError,
    StravaNotFoundError,
)
from integrations.strava.quota import QuotaSpentError
from integrations.tokens import ConnectionBrokenError, get_access_token, mark_broken
from pace.lib.clock import SYSTEM, Clock

logger = logging.getLogger(__name__)
LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 5
SUMMARY_KEYS = (
    "total_elevation_gain", "average_speed", "max_speed", "average_heartrate",
    "max_heartrate", "average_cadence", "timezone", "start_latlng", "end_latlng",
    "manual", "trainer", "commute", "type", "workout_type",
)  # fmt: skip


UPSERTED_FIELDS = [
    "sport", "name", "start", "end", "elapsed_time", "moving_time", "distance", "summary",
]  # fmt: skip


def _now(clock: Clock) -> datetime:
    return datetime.fromtimestamp(clock.time(), tz=UTC)


# --- Storing what Strava answered ------------------------------------------------------
def _activity_fields(data: dict[str, Any]) -> dict[str, Any] | None:
    start = parse_datetime(str(data.get("start_date") or ""))
    if start is None or "id" not in data:
        return None
    elapsed = max(0, int(data.get("elapsed_time") or 0))
    summary = {k: data[k] for k in SUMMARY_KEYS if data.get(k) is not None}
    polyline = (data.get("map") or {}).get("summary_polyline")
    if polyline:
        summary["polyline"] = polyline
    return {
        "sport": str(data.get("sport_type") or data.get("type") or "")[:64],
        "name": str(data.get("name") or "")[:255],
        "start": start,
        "end": start + timedelta(seconds=elapsed),
        "elapsed_time": elapsed,
        "moving_time": max(0, int(data.get("moving_time") or 0)),
        "distance": float(data.get("distance") or 0.0),
        "summary": summary,
    }


def store_activities(
    connection: Connection, items: list[dict[str, Any]], *, streams_priority: int
) -> int:
    """Upsert Strava summaries as activities (one statement a page) and queue their
    streams; returns how many."""
    rows: dict[str, Activity] = {}
    streams: list[int] = []
    for data in items:
        fields = _activity_fields(data)
        if fields is None:
            continue
        rows[str(data["id"])] = Activity(
            user_id=connection.user_id,
            source=ActivitySource.STRAVA,
            external_id=str(data["id"]),
            **fields,
        )
        if not data.get("manual"):  # a manual entry has no recorded samples
            streams.append(int(data["id"]))
    Activity.objects.bulk_create(
        list(rows.values()),
        update_conflicts=True,
        unique_fields=["user", "source", "external_id"],
        update_fields=[*UPSERTED_FIELDS, "updated_at"],
    )
    StravaJob.objects.bulk_create(
        [
            StravaJob(
                connection=connection, kind=JobKind.STREAMS, strava_id=i, priority=streams_priority
            )
            for i in streams
        ],
        ignore_conflicts=True,
    )
    return len(rows)


def store_streams(activity: Activity, body: dict[str, Any]) -> ActivityStream:
    def data(key: str) -> list[Any] | None:
        stream = body.get(key)
        return stream.get("data") if isinstance(stream, dict) else None

    time = data("time") or []
    fields = {
        "time": time,
        "latlng": data("latlng"),
        "altitude": data("altitude"),
        "heartrate": data("heartrate"),
        "cadence": data("cadence"),
        "velocity": data("velocity_smooth"),
        "samples": len(time),
        "resolution": 0,
        "downsampled_at": None,
    }
    stream, _ = ActivityStream.objects.update_or_create(activity=activity, defaults=fields)
    return stream


# --- The queue -------------------------------------------------------------------------
def enqueue(
    connection: Connection, kind: str, *, priority: int, page: int = 0, strava_id: int = 0
) -> None:
    """Queue one call (once: the same call already queued keeps its place)."""
    StravaJob.objects.bulk_create(
        [
            StravaJob(
                connection=connection, kind=kind, page=page, strava_id=strava_id, priority=priority
            )
        ],
        ignore_conflicts=True,
    )


def kick() -> None:
    """Have a worker drain the queue once the current transaction commits."""
    from integrations.tasks import strava_drain

    transaction.on_commit(lambda: strava_drain.delay())


def claim_next(*, now: datetime, fresh_only: bool = False) -> StravaJob | None:
    """The first job in line nobody holds, now held by this worker until its lease ends."""
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    jobs = StravaJob.objects.filter(free, connection__status=ConnectionStatus.OK)
    if fresh_only:
        jobs = jobs.filter(priority=JobPriority.FRESH)
    candidates = jobs.order_by("priority", "id").values_list("id", flat=True)[:8]
    for job_id in candidates:
        if StravaJob.objects.filter(free, id=job_id).update(claimed_until=now + LEASE):
            return StravaJob.objects.select_related("connection").get(id=job_id)
    return None


def _release(job: StravaJob, *, failed: bool) -> None:
    if failed and job.attempts + 1 >= MAX_ATTEMPTS:
        logger.warning("dropping %s after %s attempts", job, MAX_ATTEMPTS)
        job.delete()
        return
    StravaJob.objects.filter(id=job.id).update(
        claimed_until=None, attempts=job.attempts + (1 if failed else 0)
    )


# --- Doing one job ---------------------------------------------------------------------
def _run_page(job: StravaJob, client: StravaClient, token: str, *, now: datetime) -> None:
    connection = job.connection
    sync = StravaSync.objects.get(connection=connection)
    per_page = settings.STRAVA_PAGE_SIZE
    items = client.athlete_activities(
        token, page=job.page, per_page=per_page, before=int(sync.before.timestamp())
    )
    first_pages = 1 + settings.STRAVA_FIRST_PAGES
    with transaction.atomic():
        fresh = job.page <= first_pages
        priority = JobPriority.FRESH_STREAMS if fresh else JobPriority.BACKLOG_STREAMS
        store_activities(connection, items, streams_priority=priority)
        sync.pages_done += 1
        sync.imported = Activity.objects.filter(
            user_id=connection.user_id, source=ActivitySource.STRAVA
        ).count()
        if len(items) < per_page:
            sync.finished_at = now
            connection.jobs.filter(kind=JobKind.PAGE, page__gt=job.page).delete()
        elif job.page >= first_pages:
            enqueue(connection, JobKind.PAGE, priority=JobPriority.BACKLOG, page=job.page + 1)
        sync.save(update_fields=["pages_done", "imported", "finished_at"])


def _run_activity(job: StravaJob, client: StravaClient, token: str) -> None:
    try:
        data = client.activity(token, job.strava_id)
    except StravaNotFoundError:  # deleted (or made private) since the event
        Activity.objects.filter(
            user_id=job.connection.user_id,
            source=ActivitySource.STRAVA,
            external_id=str(job.strava_id),
        ).delete()
        return
    store_activities(job.connection, [data], streams_priority=JobPriority.FRESH)


def _run_streams(job: StravaJob, client: StravaClient, token: str) -> None:
    activity = Activity.objects.filter(
        user_id=job.connection.user_id, source=ActivitySource.STRAVA, external_id=str(job.strava_id)
    ).first()
    if activity is None:
        return  # deleted meanwhile
    try:
        body = client.streams(token, job.strava_id)
    except StravaNotFoundError:
        return
    store_streams(activity, body)


def run_job(job: StravaJob, client: StravaClient, *, clock: Clock = SYSTEM) -> None:
    """Make a claimed job's call and store its answer; the job is gone when it succeeded.

    QuotaSpentError is raised with the job released for later."""
    connection = job.connection
    client.reserve = 0.0 if job.priority == JobPriority.FRESH else settings.STRAVA_FRESH_RESERVE
    try:
        token = get_access_token(connection, clock=clock)
        if job.kind == JobKind.PAGE:
            _run_page(job, client, token, now=_now(clock))
        elif job.kind == JobKind.ACTIVITY:
            _run_activity(job, client, token)
        else:
            _run_streams(job, client, token)
    except QuotaSpentError:
        _release(job, failed=False)
        raise
    except (ConnectionBrokenError, StravaAuthError) as exc:
        if isinstance(exc, StravaAuthError):
            mark_broken(connection, reason="Strava refused access: connect Strava again")
        _release(job, failed=False)  # kept for when the athlete reconnects
        return
    except StravaError as exc:
        logger.warning("Strava %s failed: %s", job, exc)
        _release(job, failed=exc.retryable)
        if not exc.retryable:
            job.delete()
        return
    job.delete()


@dataclass(frozen=True)
class DrainResult:
    calls: int
    deferred_until: float | None  # epoch seconds; set when the quota stopped the drain
    more: bool  # jobs may be left


def drain(
    *, max_calls: int, clock: Clock = SYSTEM, client: StravaClient | None = None
) -> DrainResult:
    """Make up to ``max_calls`` queued calls, best first, while the quota allows."""
    client = client or StravaClient(clock=clock)
    quota = client.quota
    for done in range(max_calls):
        blocked = quota.blocked_until(read=True)
        if blocked is not None:
            return DrainResult(done, blocked, True)
        # Past the backlog's share only fresh work (new athletes, webhooks) may go.
        backlog_blocked = quota.blocked_until(read=True, reserve=settings.STRAVA_FRESH_RESERVE)
        job = claim_next(now=_now(clock), fresh_only=backlog_blocked is not None)
        if job is None:
            return DrainResult(done, backlog_blocked, backlog_blocked is not None)
        try:
            run_job(job, client, clock=clock)
        except QuotaSpentError as exc:
            return DrainResult(done, exc.reset_at, True)
    return DrainResult(max_calls, None, True)


# --- Connecting --------------------------------------------------------------------------
def estimate_total(stats: dict[str, Any]) -> int | None:
    """Runs + rides + swims from Strava's athlete stats ("about": other sports are not in)."""
    totals = [
        (stats.get(key) or {}).get("count")
        for key in ("all_run_totals", "all_ride_totals", "all_swim_totals")
    ]
    counts = [int(c) for c in totals if isinstance(c, int | float) and 0 <= c < 10**7]
    return sum(counts) if counts else None


def start_backfill(connection: Connection, *, client: StravaClient, clock: Clock = SYSTEM) -> None:
    """The first page while the athlete waits, the next pages queued first in line."""
    sync, _ = StravaSync.objects.get_or_create(
        connection=connection, defaults={"before": _now(clock)}
    )
    try:
        token = get_access_token(connection, clock=clock)
        stats = client.athlete_stats(token, connection.external_id)
        sync.estimated_total = estimate_total(stats)
        sync.save(update_fields=["estimated_total"])
    except (QuotaSpentError, StravaError, ConnectionBrokenError) as exc:
        logger.info("no Strava stats for %s: %s", connection.pk, exc)
    enqueue(connection, JobKind.PAGE, priority=JobPriority.FRESH, page=1)
    job = claim_next_of(connection, page=1, now=_now(clock))
    if job is not None:
        with contextlib.suppress(QuotaSpentError):  # page 1 then waits first in line
            run_job(job, client, clock=clock)
    sync.refresh_from_db()
    if sync.finished_at is None:
        for page in range(2, 2 + settings.STRAVA_FIRST_PAGES):
            enqueue(connection, JobKind.PAGE, priority=JobPriority.FRESH, page=page)
    kick()


def claim_next_of(connection: Connection, *, page: int, now: datetime) -> StravaJob | None:
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    jobs = StravaJob.objects.filter(free, connection=connection, kind=JobKind.PAGE, page=page)
    job_id = jobs.values_list("id", flat=True).first()
    if job_id is None or not jobs.filter(id=job_id).update(claimed_until=now + LEASE):
        return None
    return StravaJob.objects.select_related("connection").get(id=job_id)


def strava_refresher(connection: Connection, refresh_token: str) -> Any:
    return StravaClient().refresh(refresh_token)
