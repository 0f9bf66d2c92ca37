"""Results benchmark: a race of 10,000 finishers with 10 splits, on PostgreSQL and Redis.

``make bench`` runs ``python -m bench.results``. It recreates the database
``pace_bench_results``, migrates it, seeds one marathon (10,000 entries in three
waves, 8 age categories, start + 10 splits + finish, about 125,000 reads with
duplicates and GPS crossings mixed in), then measures, in this process:

- **live reads**: a read stored and applied (``results.live.apply_reads``: the
  athlete's result, the ranks it moves, the ``result`` frame to the race's group on
  Redis, received by a listening channel), one transaction each, in time order:
  200 reads mid-race (half the field through) and the last 200 finishes (9,800
  finishers ranked), and a worst case: a corrected finish that puts the last
  athlete ahead of the 9,999 others (every rank moves);
- **a decoder file imported**: 100,000 lines of Pace's generic CSV (every athlete at
  every point, absolute UTC times, read ids) through the admin's two steps
  (``results.reads_import.import_stage``: parse and preview; ``import_confirm``: store
  and recompute the race once), and the parser alone on 100,000 lines of each layout;
- **full recompute** (``results.compute.recompute_race``) of the 10,000 finishers:
  from no result rows (all created), every row changed (ranking switched between
  chip and gun time), and nothing changed; then checks that what the live reads
  built equals a recompute (0 rows changed).

Prints a table and writes ``bench/results/results.json``. Targets (issue 13):
full recompute < 2 s, one live read < 10 ms, a 100,000-line file < 10 s. Needs
PostgreSQL and Redis as ``bench.http`` does (``BENCH_RESULTS_DATABASE_URL``, ``BENCH_REDIS_URL``).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from bench.decoder_file import file_import
from bench.http import clear_redis, django_on_fresh_database, write_json
from bench.results_report import print_table
from bench.seed import AGES, confirmed_entries_create, race_timing_create
from bench.servers import log

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "results.json"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/pace_bench_results"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/1"
KEY_PREFIX = "pacebench-results"
TARGET_RECOMPUTE_S = 2.0
TARGET_READ_MS = 10.0
DISTANCE_M = 42_195
SEED = 13


def setup_django(args: argparse.Namespace) -> None:
    django_on_fresh_database(
        database_url=args.database_url, redis_url=args.redis_url, key_prefix=KEY_PREFIX
    )


# --- data ---------------------------------------------------------------------------------


def seed(athletes: int, splits: int) -> dict[str, Any]:
    """One race, its entries, points and every read its athletes would make (not stored)."""
    from django.utils import timezone

    from events.models import Event, Organizer, Race
    from results.models import Wave, WaveEntry

    rng = random.Random(SEED)
    organizer = Organizer.objects.create(
        name="Bench", slug="bench", country="FR", contact_email="b@example.com"
    )
    day = timezone.localdate()
    event = Event.objects.create(
        organizer=organizer, name="Bench Marathon", slug="bench-marathon", sport="running",
        start_date=day, end_date=day, place="Annecy", country="FR", latitude=45.9,
        longitude=6.1, status=Event.Status.PUBLISHED,
    )  # fmt: skip
    gun = dt.datetime.combine(day, dt.time(8), tzinfo=dt.UTC)
    race = Race.objects.create(
        event=event, name="Marathon", slug="marathon", distance_m=DISTANCE_M, start_time=gun,
        time_limit=dt.timedelta(hours=7),
    )  # fmt: skip
    _, points = race_timing_create(race, splits=splits, ages=AGES, min_gap_ms=30_000)
    waves = Wave.objects.bulk_create(
        Wave(race=race, name=f"Wave {i + 1}", start_time=gun + dt.timedelta(minutes=5 * i))
        for i in range(3)
    )
    entries = confirmed_entries_create(race, athletes=athletes, rng=rng, key="r")
    WaveEntry.objects.bulk_create(
        (WaveEntry(wave=waves[i % 3], registration=e) for i, e in enumerate(entries) if i % 3),
        batch_size=5000,
    )
    reads = []
    for i, entry in enumerate(entries):
        start = gun + dt.timedelta(minutes=5 * (i % 3), seconds=rng.uniform(0, 240))
        pace = rng.uniform(0.18, 0.45)  # seconds a metre: 3:00 to 7:30 a km
        for point in points:
            t = start + dt.timedelta(seconds=point.distance_m * pace * rng.uniform(0.97, 1.03))
            reads.append((t, point, entry, "chip_file"))
            if point.kind == "finish" and rng.random() < 0.1:  # standing on the mat
                reads.append((t + dt.timedelta(seconds=rng.uniform(1, 20)), point, entry, "push"))
            if point.kind == "split" and rng.random() < 0.02:  # the phone saw it too
                reads.append((t + dt.timedelta(seconds=rng.uniform(-5, 5)), point, entry, "gps"))
    reads.sort(key=lambda r: r[0])
    return {"race": race, "points": points, "entries": entries, "reads": reads}


def store(race: Any, reads: list[tuple[Any, ...]]) -> list[Any]:
    from results.models import TimingRead

    return TimingRead.objects.bulk_create(
        (
            TimingRead(race=race, point=p, registration=e, bib=e.bib, time=t, source=s)
            for t, p, e, s in reads
        ),
        batch_size=5000,
    )


# --- measurements -------------------------------------------------------------------------


class Frames:
    """A channel in the race's group, as a web process's hub is: counts the frames."""

    def __init__(self, race_id: int) -> None:
        from tracking.live.groups import race_group

        self.group = race_group(race_id)
        self.layer: Any = None
        self.channel = ""

    async def join(self) -> None:
        from channels.layers import get_channel_layer

        self.layer = get_channel_layer()
        self.channel = await self.layer.new_channel()
        await self.layer.group_add(self.group, self.channel)

    async def drain(self) -> int:
        n = 0
        while True:
            try:
                message = await asyncio.wait_for(self.layer.receive(self.channel), 1.0)
            except TimeoutError:
                return n
            n += message["type"] == "race.result"


def live_reads(race: Any, reads: list[tuple[Any, ...]]) -> dict[str, Any]:
    """Store and apply reads one at a time, as a decoder pushes them.

    ``apply``: ``apply_reads`` alone (the result, the ranks it moves, the frame handed
    to the channel layer after commit is not in it); ``total``: storing the read, that,
    the commit (fsync) and the frame's ``group_send`` to Redis. ``apply_cpu``: this
    process's CPU for ``apply_reads`` and ``apply_queries`` its round trips to the
    database, which do not depend on how busy the machine is."""
    from django.db import connection, transaction

    from results.live import apply_reads
    from results.models import TimingRead

    applied, cpu, totals, frames, queries = [], [], [], 0, [0]

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        queries[0] += 1
        return execute(sql, params, many, context)

    for t, p, e, s in reads:
        started = time.perf_counter()
        with transaction.atomic():
            read = TimingRead.objects.create(
                race=race, point=p, registration=e, bib=e.bib, time=t, source=s
            )
            begun, thread_cpu = time.perf_counter(), time.thread_time()
            with connection.execute_wrapper(count):
                frames += len(apply_reads(race_id=race.pk, reads=[read], now=t))
            applied.append((time.perf_counter() - begun) * 1000)
            cpu.append((time.thread_time() - thread_cpu) * 1000)
        totals.append((time.perf_counter() - started) * 1000)
    return (
        {"reads": len(reads), "frames": frames, "apply_queries": round(queries[0] / len(reads), 1)}
        | _spread("apply", applied)
        | _spread("apply_cpu", cpu)
        | _spread("total", totals)
    )


def _spread(name: str, values: list[float]) -> dict[str, float]:
    values = sorted(values)
    return {
        f"{name}_ms_p50": round(statistics.median(values), 2),
        f"{name}_ms_p95": round(values[max(0, int(len(values) * 0.95) - 1)], 2),
        f"{name}_ms_max": round(values[-1], 2),
    }


CPU: list[float] = []  # this process's CPU seconds of each timed run, in order


def timed(fn: Any, repeat: int, before: Any = None) -> list[float]:
    """Wall seconds of each run (and its CPU seconds in ``CPU``: on a shared machine the
    wall time also holds other processes' turns on the cores)."""
    out = []
    for _ in range(repeat):
        if before is not None:
            before()
        started, cpu = time.perf_counter(), time.process_time()
        fn()
        out.append(round(time.perf_counter() - started, 3))
        CPU.append(round(time.process_time() - cpu, 3))
    return out


def recomputes(race: Any, repeat: int) -> dict[str, Any]:
    from results.compute import recompute_race
    from results.models import Result, TimingRules

    changed: list[int] = []
    after_race = race.start_time + dt.timedelta(hours=6)

    def fresh() -> None:
        changed.append(recompute_race(race_id=race.pk, now=after_race))

    def forget() -> None:  # not timed: a race's results are computed first from none
        Result.objects.filter(race=race)._raw_delete(Result.objects.db)

    flip = iter(["gun", "chip"] * repeat)

    def every_row() -> None:
        TimingRules.objects.update_or_create(race=race, defaults={"rank_by": next(flip)})
        changed.append(recompute_race(race_id=race.pk, now=after_race))

    def nothing() -> None:
        changed.append(recompute_race(race_id=race.pk, now=after_race))

    out: dict[str, Any] = {
        "no_rows_yet_s": timed(fresh, repeat, before=forget),
        "every_row_changed_s": timed(every_row, 2 * repeat),
        "nothing_changed_s": timed(nothing, repeat),
    }
    out["rows_changed"] = changed
    out["python_cpu_s"] = list(CPU)
    return out


def worst_read(race: Any, data: dict[str, Any]) -> dict[str, Any]:
    """A corrected finish that puts the last finisher first: every other rank moves."""
    from django.db import transaction

    from results.live import apply_reads
    from results.models import Result, TimingRead

    last = Result.objects.filter(race=race, status="finished").order_by("-time_ms").first()
    first = Result.objects.filter(race=race, status="finished").order_by("time_ms").first()
    assert last is not None and first is not None and first.finished_at is not None
    finish = data["points"][-1]
    started = time.perf_counter()
    with transaction.atomic():
        read = TimingRead.objects.create(
            race=race, point=finish, registration_id=last.registration_id,
            time=first.finished_at - dt.timedelta(hours=1), source="manual",
        )  # fmt: skip
        apply_reads(race_id=race.pk, reads=[read])
    ms = (time.perf_counter() - started) * 1000
    now_first = Result.objects.get(pk=last.pk).rank_overall
    return {"ms": round(ms, 2), "rank_after": now_first}


def run(args: argparse.Namespace) -> dict[str, Any]:
    setup_django(args)
    from django.db import connection

    from results.compute import recompute_race

    t = time.monotonic()
    data = seed(args.athletes, args.splits)
    race, reads = data["race"], data["reads"]
    finishes = [r for r in reads if r[1].kind == "finish" and r[3] == "chip_file"]
    half = finishes[len(finishes) // 2][0]
    before = [r for r in reads if r[0] <= half]
    middle = [r for r in reads if r[0] > half][: args.live_reads]
    held = set(map(id, finishes[-args.live_reads :]))
    rest = [r for r in reads if r[0] > half and id(r) not in held][len(middle) :]
    store(race, before)
    recompute_race(race_id=race.pk, now=half)
    with connection.cursor() as cursor:  # what autovacuum does to tables this busy
        cursor.execute("VACUUM ANALYZE")
    setup_s = round(time.monotonic() - t, 1)
    log(f"seeded {len(data['entries'])} entries, {len(reads)} reads in {setup_s} s")

    # As in a web process: sync code in a thread, the channel layer on the event loop.
    held_reads = [r for r in reads if id(r) in held]

    async def live() -> tuple[dict[str, Any], dict[str, Any], bool]:
        from asgiref.sync import sync_to_async

        frames = Frames(race.pk)
        await frames.join()
        mid = await sync_to_async(live_reads)(race, middle)
        mid["frames_received"] = await frames.drain()
        log(f"mid-race reads: apply p50 {mid['apply_ms_p50']} ms, p95 {mid['apply_ms_p95']} ms")
        await sync_to_async(store)(race, rest)
        await sync_to_async(recompute_race)(race_id=race.pk, now=rest[-1][0])
        late = await sync_to_async(live_reads)(race, held_reads)
        late["frames_received"] = await frames.drain()
        log(f"last finishes: apply p50 {late['apply_ms_p50']} ms, p95 {late['apply_ms_p95']} ms")
        same = await sync_to_async(recompute_race)(race_id=race.pk, now=reads[-1][0]) == 0
        return mid, late, same

    mid, late, consistent = asyncio.run(live())

    log("full recomputes")
    full = recomputes(race, args.repeat)
    worst = worst_read(race, data)
    log(f"worst case read: {worst['ms']} ms")
    imported = file_import(race, data)
    log(f"decoder file: {imported['lines']} lines in {imported['total_s']} s")
    from results.models import Result

    return {
        "data": {
            "entries": len(data["entries"]),
            "finishers": Result.objects.filter(race=race, status="finished").count(),
            "timing_points": len(data["points"]),
            "splits": args.splits,
            "reads": len(reads),
            "setup_s": setup_s,
        },
        "live_mid_race": mid,
        "live_last_finishes": late,
        "live_worst_case_every_rank_moves": worst,
        "live_equals_recompute": consistent,
        "full_recompute": full,
        "decoder_file_import": imported,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--athletes", type=int, default=10_000)
    parser.add_argument("--splits", type=int, default=10)
    parser.add_argument("--live-reads", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_RESULTS_DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL))
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    started = time.monotonic()
    load = [round(x, 1) for x in os.getloadavg()]
    report = run(args)
    full = report["full_recompute"]
    slowest = max(full["no_rows_yet_s"] + full["every_row_changed_s"] + full["nothing_changed_s"])
    p95s = [report[k]["apply_ms_p95"] for k in ("live_mid_race", "live_last_finishes")]
    report["targets"] = {
        "full_recompute_s": TARGET_RECOMPUTE_S,
        "live_read_ms": TARGET_READ_MS,
        "full_recompute_met": slowest < TARGET_RECOMPUTE_S,
        "live_read_p95_met": max(p95s) < TARGET_READ_MS,
    }
    report["environment"] = {
        "load_average_at_start": load,
        "load_average_at_end": [round(x, 1) for x in os.getloadavg()],
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "database": "PostgreSQL " + args.database_url.rsplit("/", 1)[-1],
        "channel_layer": f"Redis {args.redis_url} (prefix {KEY_PREFIX})",
    }
    report["elapsed_s"] = round(time.monotonic() - started, 1)
    write_json(report, args.out)
    clear_redis(args.redis_url, KEY_PREFIX)
    print_table(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
