"""A race's replay: every athlete's downsampled track, built once from stored positions
and kept in the cache, gzipped, until the race's positions change.

Built in one grouped query (the database averages each athlete's fixes per sample
interval: a few hundred thousand rows come back for a 5,000-athlete race, never a query
per athlete), then projected on the course and delta-encoded
(``tracking.web.trackcodec``). A stamp of the race's positions (their count and last
id) names the build: it is the ETag, and a new fix makes a new build. While the race
runs its positions change every second, so a build is served for up to
``REBUILD_SECONDS`` before the next one.

**Off the request.** A 5,000-athlete race takes tens of seconds to build, so a request
never builds one: the task ``tracking.web.replaytasks.replays_prebuild`` (every minute, Celery beat
or the embedded scheduler) builds the replay of every race whose tracking closed in the
last ``PREBUILD_DAYS`` as soon as it closes, and again when its stored positions change
(late uploads: seen within ``STAMP_SECONDS_CLOSED``). A request serves the stored build,
even one a newer stamp has outdated (and asks for a new one, ``replay_build_soon``:
a Celery task in production, a thread of the process in the embedded default); with
none stored yet, it gets ``Preparing`` (how far the build is) and the page polls. Only a
race of at most ``SYNC_MAX_ATHLETES`` is built in the request (well under a second).
"""

from __future__ import annotations

import datetime as dt
import gzip
import itertools
import logging
import math
import threading
import time
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import close_old_connections, connection

from events.models import Race, Registration
from pace.lib.geo import haversine_m
from pace.lib.jsonfast import dumps
from tracking.live.projection import AHEAD_M, NEAR_M, CourseLine
from tracking.live.window import tracking_window
from tracking.models import Position
from tracking.selectors import race_for_ticker, race_info, roster
from tracking.web.trackcodec import Projector, build_track, encode_track, group_rows, sample_step

FORMAT = 1
# Samples in a whole replay at most (about 6 bytes each once gzipped): a 5,000-athlete
# 10K of two hours gets one every 30 s, a 60-athlete race one every 5 s.
SAMPLE_BUDGET = 1_500_000
REBUILD_SECONDS = 60  # while the race runs
STAMP_SECONDS_LIVE = 10
STAMP_SECONDS_CLOSED = 600
BLOB_SECONDS = 24 * 3600
# Built in the request up to this many athletes (a few hundred ms); bigger ones off it.
SYNC_MAX_ATHLETES = 300
PREBUILD_DAYS = 2  # the task keeps the replays of races closed this recently current
BUILD_LOCK_SECONDS = 900  # one build of a race at a time (longer than any build)
PROGRESS_EVERY = 250  # athletes between two progress notes
# How fast an athlete may move between samples (m/s), to look for them on the course
# (a 10K world record runs 6.3 m/s), and how far behind (samples are averaged fixes,
# and the distance kept never goes back).
TOP_SPEED = {"cycling": 25.0, "triathlon": 25.0}
RUNNING_TOP_SPEED = 8.0
REPLAY_BEHIND_M = 50.0


@dataclass(frozen=True, slots=True)
class Stamp:
    """What the race's stored positions are now: a new fix changes it."""

    count: int
    last_id: int
    first_t: float | None
    last_t: float | None

    def etag(self, race_id: int) -> str:
        return f'"replay-{FORMAT}-{race_id}-{self.count}-{self.last_id}"'


logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Preparing:
    """No build to serve yet: one is under way off the request, ``done`` of ``of``
    athletes' tracks made so far (0 of 0 while it waits for its turn or its query)."""

    done: int
    of: int


@dataclass(frozen=True, slots=True)
class Replay:
    """A built replay: its ETag, its gzipped JSON (empty when not read from the cache),
    when it was built and how long that took."""

    etag: str
    gz: bytes
    built_at: float
    build_seconds: float


def positions_stamp(*, race_id: int) -> Stamp:
    """One aggregate over the race's positions."""
    from django.db.models import Count, Max, Min

    found = Position.objects.filter(race_id=race_id).aggregate(
        count=Count("id"), last_id=Max("id"), first_t=Min("t"), last_t=Max("t")
    )
    first, last = found["first_t"], found["last_t"]
    return Stamp(
        count=found["count"] or 0,
        last_id=found["last_id"] or 0,
        first_t=first.timestamp() if first else None,
        last_t=last.timestamp() if last else None,
    )


def _closed(race: Race, now: float) -> bool:
    return tracking_window(start=race.start_time, time_limit=race.time_limit)[1] < now


def race_stamp(*, race: Race, now: float | None = None) -> Stamp:
    """``positions_stamp``, remembered for a few seconds (long once tracking has closed:
    no fix arrives after that)."""
    key = f"replay:{race.pk}:stamp"
    stamp = cache.get(key)
    if isinstance(stamp, Stamp):
        return stamp
    stamp = positions_stamp(race_id=race.pk)
    closed = _closed(race, now if now is not None else time.time())
    cache.set(key, stamp, STAMP_SECONDS_CLOSED if closed else STAMP_SECONDS_LIVE)
    return stamp


def _sample_sql() -> str:
    """The sample a fix falls in (never negative: fixes start half a step before t0)."""
    if connection.vendor == "postgresql":
        # date_part is a float; EXTRACT a numeric since PostgreSQL 14, several times slower.
        return "FLOOR((date_part('epoch', t) - %s) / %s + 0.5)::bigint"
    # SQLite keeps Django's datetimes as UTC text, which julianday() reads; its CAST
    # truncates, which is the floor of what is never negative.
    return "CAST((((julianday(t) - 2440587.5) * 86400.0) - %s) / %s + 0.5 AS INTEGER)"


def sample_rows(
    *, race_id: int, t0: float, step: int, until: float
) -> Iterator[tuple[int, int, float, float]]:
    """``(athlete, sample, lat, lon)``: each athlete's fixes averaged over each sample's
    interval (sample k covers ``t0 + k*step`` ± half a step), by athlete and sample."""
    sql = (
        f"SELECT registration_id, {_sample_sql()} AS k, "
        "AVG(lat), AVG(lon) FROM tracking_position "
        "WHERE race_id = %s AND t >= %s AND t <= %s "
        "GROUP BY registration_id, k ORDER BY registration_id, k"
    )
    adapt = connection.ops.adapt_datetimefield_value
    low = adapt(dt.datetime.fromtimestamp(t0 - step / 2, tz=dt.UTC))
    high = adapt(dt.datetime.fromtimestamp(until, tz=dt.UTC))
    with connection.cursor() as cursor:
        cursor.execute(sql, [t0, step, race_id, low, high])
        while rows := cursor.fetchmany(10_000):
            for athlete, k, lat, lon in rows:
                yield int(athlete), int(k), float(lat), float(lon)


def along_course(
    line: CourseLine, points: Sequence[tuple[float, float]], ahead: float
) -> list[float]:
    """Each of one athlete's samples, in time order, projected on the course: the first
    within ``ahead`` metres of the start (a loop's start is also its finish: searched on
    the whole line, a first fix at the start could land at the finish), or on the whole
    line when it is not near that stretch (tracking began further on); each next one
    within the stretch from a little behind the last to ``ahead`` metres past it (a loop
    or an out-and-back passes the same places twice), as the live engine projects fixes.

    The replay's hot loop (every sample of every athlete): ``CourseLine.project``'s
    search inlined, with no call and no object per sample."""
    pairs = zip(line.xy, line.seg, strict=False)  # one segment fewer than points
    segments = [(ax, ay, dx, dy, seg2) for (ax, ay), (dx, dy, seg2) in pairs]
    cumulative, kx, ky, last = line.cumulative, line.kx, line.ky, len(line.xy) - 1
    near2 = NEAR_M * NEAR_M
    out: list[float] = []
    covered: float | None = None
    lo, hi = 0, min(last, bisect_right(cumulative, ahead) + 1)
    for lat, lon in points:
        x, y = lon * kx, lat * ky
        if covered is not None:
            # ``covered`` never decreases, so the window's ends only move forward: a step
            # or two from where they were (bisect_left/right of the two bounds, less one
            # and plus one) instead of two binary searches per sample.
            behind, reach = covered - REPLAY_BEHIND_M, covered + ahead
            if len(out) == 1:  # after the first sample's search: start the window
                lo = max(0, bisect_left(cumulative, behind) - 1)
                hi = min(last, bisect_right(cumulative, reach) + 1)
            else:
                while lo + 1 < last and cumulative[lo + 1] < behind:
                    lo += 1
                while hi < last and cumulative[hi - 1] <= reach:
                    hi += 1
        best_d2, best_i, best_f = math.inf, lo, 0.0
        first, end = lo, hi
        while True:
            for i in range(first, end):
                ax, ay, dx, dy, seg2 = segments[i]
                f = 0.0 if seg2 == 0 else ((x - ax) * dx + (y - ay) * dy) / seg2
                f = 0.0 if f < 0 else 1.0 if f > 1 else f
                px, py = ax + f * dx - x, ay + f * dy - y
                d2 = px * px + py * py
                if d2 < best_d2:
                    best_d2, best_i, best_f = d2, i, f
            if out or best_d2 <= near2 or (first, end) == (0, last):
                break
            first, end = 0, last  # the first sample, far from the start: the whole line
        along = cumulative[best_i] + best_f * (cumulative[best_i + 1] - cumulative[best_i])
        covered = along if covered is None else max(covered, along)
        out.append(along)
    return out


def along_track(points: Sequence[tuple[float, float]]) -> list[float]:
    """Without a course: the distance walked along the samples themselves."""
    out = [0.0]
    for (lat0, lon0), (lat1, lon1) in itertools.pairwise(points):
        out.append(out[-1] + haversine_m(lat0, lon0, lat1, lon1))
    return out[: len(points)]


def _projector(race: Race, step: int) -> Projector:
    """Distance along the course of each sample; along the track itself without a course."""
    _race, line, _splits = race_for_ticker(race_id=race.pk)
    if line is None:
        return along_track
    course = line
    top = TOP_SPEED.get(race.event.sport, RUNNING_TOP_SPEED)
    ahead = min(AHEAD_M, max(150.0, top * step))
    return lambda points: along_course(course, points, ahead)


def _keys(race_id: int) -> dict[str, str]:
    names = ("latest", "blob", "stamp", "building", "progress")
    return {name: f"replay:{race_id}:{name}" for name in names}


def _note_progress(race_id: int, done: int, of: int) -> None:
    cache.set(_keys(race_id)["progress"], (done, of), BUILD_LOCK_SECONDS)


def replay_progress(*, race_id: int) -> Preparing:
    found = cache.get(_keys(race_id)["progress"])
    if isinstance(found, tuple) and len(found) == 2:
        return Preparing(done=int(found[0]), of=int(found[1]))
    return Preparing(done=0, of=0)


def replay_document(*, race: Race, stamp: Stamp) -> dict[str, Any]:
    """The replay as the page reads it (see ``trackcodec`` for a track row)."""
    t0 = race.start_time.timestamp()
    last = stamp.last_t if stamp.last_t is not None else t0
    closes = tracking_window(start=race.start_time, time_limit=race.time_limit)[1]
    until = max(t0, min(last, closes))
    athletes = roster(race_id=race.pk)
    step = sample_step(duration=until - t0, athletes=len(athletes), budget=SAMPLE_BUDGET)
    project = _projector(race, step)
    known = {a.id for a in athletes}
    tracks = []
    _note_progress(race.pk, 0, len(athletes))
    rows = sample_rows(race_id=race.pk, t0=t0, step=step, until=until)
    for athlete, samples in group_rows(rows):
        if athlete in known and samples:
            tracks.append(encode_track(build_track(athlete, samples, project)))
            if len(tracks) % PROGRESS_EVERY == 0:
                _note_progress(race.pk, len(tracks), len(athletes))
    return {
        "v": FORMAT,
        "race": race_info(race),
        "t0": t0,
        "step": step,
        "end": int((until - t0) // step) + 1,
        "athletes": [[a.id, a.bib, a.name] for a in athletes],
        "tracks": tracks,
    }


def replay_build(*, race: Race, stamp: Stamp) -> Replay:
    """Build the replay now (and keep it), whatever the cache holds."""
    started = time.perf_counter()
    document = replay_document(race=race, stamp=stamp)
    gz = gzip.compress(dumps(document).encode(), compresslevel=6, mtime=0)
    took = time.perf_counter() - started
    built = Replay(etag=stamp.etag(race.pk), gz=gz, built_at=time.time(), build_seconds=took)
    # What it is apart from its bytes: a revalidation (304) never reads the bytes.
    # The bytes first: whoever sees the new "latest" finds them.
    cache.set(f"replay:{race.pk}:blob", (built.etag, gz), BLOB_SECONDS)
    cache.set(f"replay:{race.pk}:latest", replace(built, gz=b""), BLOB_SECONDS)
    return built


def _small(race: Race) -> bool:
    """Built in the request: a race of a few hundred athletes takes well under a second."""
    confirmed = Registration.objects.filter(race_id=race.pk, status=Registration.Status.CONFIRMED)
    return confirmed.count() <= SYNC_MAX_ATHLETES


def race_replay(*, race: Race, now: float | None = None) -> Replay | Preparing:
    """The race's replay (its bytes may be left to ``replay_gz``): the cached build while
    it is current or, while the race runs, young enough (``REBUILD_SECONDS``, or five
    times what building it took, whichever is longer). A small race's replay is (re)built
    now when needed; a big one's never in the request: an outdated build is still served
    while a new one is made off it, and with no build at all it is ``Preparing``."""
    moment = now if now is not None else time.time()
    stamp = race_stamp(race=race, now=moment)
    latest = cache.get(_keys(race.pk)["latest"])
    if isinstance(latest, Replay):
        if latest.etag == stamp.etag(race.pk):
            return latest
        age = moment - latest.built_at
        if not _closed(race, moment) and age < max(REBUILD_SECONDS, 5 * latest.build_seconds):
            return latest
        if not _small(race):
            replay_build_soon(race_id=race.pk)
            return latest
        # Someone else is building it: the previous build meanwhile.
        if not cache.add(_keys(race.pk)["building"], 1, BUILD_LOCK_SECONDS):
            return latest
        try:
            return replay_build(race=race, stamp=stamp)
        finally:
            cache.delete(_keys(race.pk)["building"])
    if _small(race):
        return replay_build(race=race, stamp=stamp)
    replay_build_soon(race_id=race.pk)
    return replay_progress(race_id=race.pk)


def replay_gz(*, race: Race, replay: Replay) -> Replay | Preparing:
    """``replay`` with its gzipped bytes, read from the cache (if they went: built again,
    now for a small race, else off the request)."""
    if replay.gz:
        return replay
    found = cache.get(_keys(race.pk)["blob"])
    if isinstance(found, tuple) and found[0] == replay.etag:
        return replace(replay, gz=found[1])
    if _small(race):
        return replay_build(race=race, stamp=race_stamp(race=race))
    cache.delete(_keys(race.pk)["latest"])  # what it names is gone: build it again
    replay_build_soon(race_id=race.pk)
    return replay_progress(race_id=race.pk)


def replay_build_now(*, race_id: int) -> Replay | None:
    """Build the race's replay from its positions as stored now (off a request: a task, a
    thread), unless another build of it is under way. Returns the build, or None."""
    keys = _keys(race_id)
    if not cache.add(keys["building"], 1, BUILD_LOCK_SECONDS):
        return None
    try:
        return _build_unlocked(race_id)
    finally:
        cache.delete_many([keys["building"], keys["progress"]])


def _build_unlocked(race_id: int) -> Replay | None:
    race = Race.objects.select_related("event", "course").filter(pk=race_id).first()
    if race is None:
        return None
    stamp = positions_stamp(race_id=race_id)
    closed = _closed(race, time.time())
    cache.set(
        _keys(race_id)["stamp"], stamp, STAMP_SECONDS_CLOSED if closed else STAMP_SECONDS_LIVE
    )
    return replay_build(race=race, stamp=stamp)


def replay_build_soon(*, race_id: int) -> None:
    """Have the race's replay built off this request, once however many ask: a Celery
    task in production; in the embedded default (tasks run eagerly, in the caller) a
    thread of this process, so the request still answers at once."""
    keys = _keys(race_id)
    if cache.get(keys["building"]) is not None:
        return
    if not cache.add(keys["progress"], (0, 0), BUILD_LOCK_SECONDS):
        return  # asked already: queued or under way
    if settings.CELERY_TASK_ALWAYS_EAGER:
        threading.Thread(
            target=_build_in_thread, args=(race_id,), name=f"replay-{race_id}", daemon=True
        ).start()
        return
    from tracking.web.replaytasks import replay_build as replay_build_task

    replay_build_task.delay(race_id)


def _build_in_thread(race_id: int) -> None:
    try:
        replay_build_now(race_id=race_id)
    except Exception:
        logger.exception("replay of race %s: the build failed", race_id)
        cache.delete(_keys(race_id)["progress"])
    finally:
        close_old_connections()
        connection.close()


def replays_prebuild(*, now: float | None = None) -> list[int]:
    """Build the replay of every race whose tracking closed in the last ``PREBUILD_DAYS``
    and whose stored build is not of its positions as they are (none yet: it just closed;
    an older one: late uploads). The ids of those built."""
    moment = now if now is not None else time.time()
    at = dt.datetime.fromtimestamp(moment, tz=dt.UTC)
    # A race's window closes at most a day or so after its start (its time limit).
    candidates = Race.objects.filter(
        start_time__gte=at - dt.timedelta(days=PREBUILD_DAYS + 3), start_time__lte=at
    ).select_related("event", "course")
    built = []
    for race in candidates:
        closes = tracking_window(start=race.start_time, time_limit=race.time_limit)[1]
        if not moment - PREBUILD_DAYS * 86400 <= closes < moment:
            continue
        stamp = race_stamp(race=race, now=moment)
        latest = cache.get(_keys(race.pk)["latest"])
        if stamp.count == 0 or (isinstance(latest, Replay) and latest.etag == stamp.etag(race.pk)):
            continue
        if replay_build_now(race_id=race.pk) is not None:
            built.append(race.pk)
    return built
