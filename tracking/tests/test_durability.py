"""An acknowledged fix is in the database, whatever happens to the process that acked it;
a race's ticker moves to another runner when its process dies."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import websockets
from django.db import connection
from django.test.utils import CaptureQueriesContext

from events.models import Race
from pace.lib.geo import cumulative_distances, point_at_distance
from pace.lib.testing import FakeClock, wait_until
from tracking.live.engine import Fix
from tracking.live.livestore import MemoryLiveStore, live_store
from tracking.live.ticker import TAKE_FIXES_SECONDS, TickerRunner
from tracking.sim.testrace import load_test_race_create
from tracking.tests.helpers import QuietListener, run
from tracking.tests.serving import daphne_server, manage, migrated_db, sqlite_env

IN_FLIGHT = 10  # batches sent and not acked yet, so that some are when the server dies
BACKENDS = ["sqlite"] + (
    ["postgresql"] if os.environ.get("DATABASE_URL", "").startswith("postgres") else []
)


@contextlib.contextmanager
def _database(
    backend: str, tmp_path: Path
) -> Iterator[tuple[dict[str, str], Callable[[str, tuple], list]]]:
    """A migrated database of this test's own, the servers' environment on it, and a way
    to query it: a SQLite file, or PostgreSQL with Redis as in production."""
    if backend == "sqlite":
        db = migrated_db(tmp_path / "pace.sqlite3")

        def query(sql: str, params: tuple) -> list:
            with sqlite3.connect(db) as conn:
                return conn.execute(sql.replace("%s", "?"), params).fetchall()

        yield sqlite_env(db), query
        return
    import psycopg

    base = os.environ["DATABASE_URL"]
    name = f"pace_kill9_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.execute(f"CREATE DATABASE {name}")
    url = base.rsplit("/", 1)[0] + f"/{name}"
    env = sqlite_env(tmp_path / "unused.sqlite3") | {
        "DATABASE_URL": url, "REDIS_URL": os.environ.get("REDIS_URL", ""),
        "CACHE_KEY_PREFIX": name, "EMBEDDED_TICKERS": "0",
    }  # fmt: skip
    manage(env, "migrate", "--noinput")

    def pg_query(sql: str, params: tuple) -> list:
        with psycopg.connect(url) as conn:
            return conn.execute(sql, params).fetchall()

    try:
        yield env, pg_query
    finally:
        with psycopg.connect(base, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def _send_until_killed(url: str, token: str, server: subprocess.Popen) -> set[int]:
    acked: set[int] = set()
    an_ack = asyncio.Event()
    async with websockets.connect(f"{url}/ws/track/?token={token}") as ws:
        json.loads(await ws.recv())  # welcome
        now = time.time()

        async def receive() -> None:
            async for message in ws:
                frame = json.loads(message)
                if frame["type"] == "ack":
                    acked.add(frame["seq"])
                    an_ack.set()

        reader = asyncio.ensure_future(receive())
        for seq in range(1, 400):
            points = [{"t": now - 400 + seq + i / 10, "lat": 45.9, "lon": 6.13} for i in range(10)]
            await ws.send(json.dumps({"type": "pos", "seq": seq, "points": points}))
            if len(acked) >= 20:
                break
            if seq - len(acked) >= IN_FLIGHT:  # the next batch once the server acks one
                an_ack.clear()
                await asyncio.wait_for(an_ack.wait(), 10)
        os.kill(server.pid, signal.SIGKILL)  # while batches are still in flight
        with contextlib.suppress(TimeoutError, websockets.ConnectionClosed):
            await asyncio.wait_for(reader, 5)
    return acked


@pytest.mark.parametrize("backend", BACKENDS)
def test_fixes_acked_before_a_kill_9_are_all_in_the_database(tmp_path, backend):
    with _database(backend, tmp_path) as (env, query), daphne_server(tmp_path, env=env) as server:
        athlete = server.test_race(athletes=1)["athletes"][0]
        url = server.url.replace("http://", "ws://")
        # In a thread of its own: a browser test may have left this one's loop running.
        with ThreadPoolExecutor(1) as pool:
            job = pool.submit(
                asyncio.run, _send_until_killed(url, athlete["token"], server.process)
            )
            acked = job.result()
        assert len(acked) >= 20
        rows = query(
            "SELECT seq, count(*) FROM tracking_position WHERE registration_id = %s GROUP BY seq",
            (athlete["id"],),
        )
    stored = dict(rows)
    assert all(stored.get(seq) == 10 for seq in acked), "an acked batch is missing or partial"


def _lease_clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """The clock leases lapse by: the memory store's, moved by the test; Redis keeps its
    own, so there a lapse is waited for (``wait_until`` a runner takes the race)."""
    clock = FakeClock()
    if isinstance(live_store(), MemoryLiveStore):
        monkeypatch.setattr(live_store(), "clock", clock)
    return clock


@pytest.mark.django_db(transaction=True)
def test_a_races_ticker_moves_to_another_runner_when_its_holder_dies(settings, monkeypatch):
    settings.TRACKING_LEASE_SECONDS = 0.5
    clock = _lease_clock(monkeypatch)
    race = load_test_race_create(athletes=2)
    race_obj = Race.objects.select_related("course").get(pk=race["race_id"])
    start, line = race_obj.start_time.timestamp(), race_obj.course.line
    cum = cumulative_distances(line)
    athlete = race["athletes"][0]["id"]

    def fix(metres: float, t: float) -> Fix:
        lon, lat = point_at_distance(line, cum, metres * cum[-1] / 10_000)
        return Fix(athlete, t, lat, lon)

    async def scenario():
        first, second = TickerRunner(owner="first"), TickerRunner(owner="second")
        await live_store().publish_fixes(race["race_id"], [fix(800, start + 240)])
        ran = [await first.run_once(start + 240), await second.run_once(start + 241)]
        await clock.advance(0.6)  # "first" died: its lease lapses
        await live_store().publish_fixes(race["race_id"], [fix(1000, start + 290)])
        ran.append(await wait_until(lambda: second.run_once(start + 291), timeout=5))
        ran.append(await first.run_once(start + 292))  # back from the dead: not its race now
        taken = second.tickers[race["race_id"]].engine
        return ran, taken.seq, taken.athletes[athlete]

    ran, seq, state = run(scenario)
    assert ran == [[race["race_id"]], [], [race["race_id"]], []]
    assert seq == 3  # carries on from the first runner's tick, skipping one seq
    assert state.distance == pytest.approx(1000, abs=25)
    assert state.speed > 0  # kept from before the takeover, then updated


@pytest.mark.django_db(transaction=True)
def test_an_ack_does_not_wait_for_redis(monkeypatch):
    """Redis down (or restarting): fixes are stored and acked; only the live map misses them."""
    from tracking.ingest import athletes, commit, fixes
    from tracking.live import livestore

    race = load_test_race_create(athletes=1)
    monkeypatch.setattr(
        livestore, "_store", livestore.RedisLiveStore("redis://127.0.0.1:1/0", "gone")
    )
    athlete = athletes.athlete_for_token(race["athletes"][0]["token"])
    assert athlete is not None
    point = {"t": time.time(), "lat": 45.9, "lon": 6.13}
    rows = fixes.as_rows([fixes.parse_point(point, athlete=athlete, now=time.time())],
                          athlete=athlete, seq=1)  # fmt: skip

    async def scenario():
        await commit.group_commit().submit(rows)

    run(scenario)
    from tracking.models import Position

    assert Position.objects.filter(registration_id=athlete.id, seq=1).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_ticker_writes_the_whole_race_again_when_the_store_lost_it():
    race = load_test_race_create(athletes=5)
    start = Race.objects.get(pk=race["race_id"]).start_time.timestamp()

    async def scenario():
        from tracking.live.ticker import RaceTicker

        ticker = RaceTicker(race["race_id"])
        await ticker.step(start + 1)
        await ticker.step(start + 2)
        await live_store().forget(race["race_id"])  # Redis restarted with nothing
        await ticker.step(start + 3)
        out = await ticker.step(start + 4)
        return out, await live_store().full_state(race["race_id"])

    out, state = run(scenario)
    assert len(out.changed) == 5 and out.seq == 4
    assert state.meta["seq"] == 4
    assert len(state.states) == 5 and len(state.field) == 5


@pytest.mark.django_db(transaction=True)
def test_test_races_are_created_fast_extended_and_deleted_with_their_data():
    from events.models import Event, Registration
    from tracking.models import Position, Tracker
    from tracking.sim.testrace import load_test_races_delete

    with CaptureQueriesContext(connection) as queries:
        first = load_test_race_create(athletes=2000)
    again = load_test_race_create(athletes=2100)
    assert again["race_id"] == first["race_id"] and len(again["athletes"]) == 2100
    assert len({a["token"] for a in again["athletes"]}) == 2100
    assert not Event.objects.listed().filter(pk=Race.objects.get(pk=first["race_id"]).event_id)
    # Thousands of athletes in bulk inserts (about 90 queries), not a query or more each
    # (2,000+: minutes instead of seconds on PostgreSQL).
    assert len(queries) < 400, len(queries)
    Position.objects.create(
        race_id=first["race_id"], registration_id=first["athletes"][0]["id"],
        t=dt.datetime.now(dt.UTC), lat=45, lon=6, received_at=dt.datetime.now(dt.UTC),
    )  # fmt: skip
    assert load_test_races_delete() == 1
    assert not Registration.objects.exists() and not Tracker.objects.exists()
    assert not Position.objects.exists() and not Race.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_hub_holding_a_dead_tickers_unstored_tick_ends_equal_to_the_store(settings, monkeypatch):
    """A tick goes to the hubs before it is stored. The ticker that takes a race over
    skips a seq, so a hub that holds the dead ticker's last, unstored tick takes the new
    ticker's first one (every athlete) and ends equal to the store, like every hub."""
    from tracking.fanout import hub as hub_module

    settings.TRACKING_LEASE_SECONDS = 0.5
    clock = _lease_clock(monkeypatch)
    race = load_test_race_create(athletes=3)
    race_obj = Race.objects.select_related("course").get(pk=race["race_id"])
    start, line = race_obj.start_time.timestamp(), race_obj.course.line
    cum = cumulative_distances(line)
    ids = [a["id"] for a in race["athletes"]]

    def fixes(metres: float, t: float) -> list[Fix]:
        out = []
        for i, athlete in enumerate(ids):
            lon, lat = point_at_distance(line, cum, (metres + 50 * i) * cum[-1] / 10_000)
            out.append(Fix(athlete, t, lat, lon))
        return out

    class Listener(QuietListener):
        def __init__(self) -> None:
            self.seqs: list[int] = []

        def hub_tick(self, tick, hub):
            self.seqs.append(tick.seq)

    async def scenario():
        store = live_store()
        listener = Listener()
        race_hub = await hub_module.join(race["race_id"], listener)
        first, second = TickerRunner(owner="first"), TickerRunner(owner="second")
        await store.publish_fixes(race["race_id"], fixes(800, start + 240))
        await first.run_once(start + 240)
        await store.publish_fixes(race["race_id"], fixes(900, start + 241))

        async def dies(*args, **kwargs):
            raise ConnectionError("killed between sending the tick and storing it")

        # A ticker killed mid-tick: its store fails after the tick went out.
        real_write, store.write_tick = store.write_tick, dies  # type: ignore[method-assign]
        await first.run_once(start + 241)  # seq 2: sent, never stored
        store.write_tick = real_write  # type: ignore[method-assign]
        await clock.advance(0.6)  # the lease lapses
        await store.publish_fixes(race["race_id"], fixes(1000, start + 290))
        await wait_until(lambda: second.run_once(start + 291), timeout=5)
        await wait_until(lambda: 3 in listener.seqs)  # through the channel layer
        stored = await store.full_state(race["race_id"])
        await hub_module.leave(race["race_id"], listener)
        return listener.seqs, race_hub, stored

    seqs, race_hub, stored = run(scenario)
    assert seqs == [1, 2, 3]  # 2: sent, not stored; 3: the new ticker, skipping one
    assert race_hub.loads == 1  # it held seq 2, and seq 3 brought every athlete
    assert race_hub.mirror.seq == stored.meta["seq"] == 3
    assert race_hub.mirror.states == stored.states and race_hub.mirror.field == stored.field


@pytest.mark.django_db(transaction=True)
def test_a_runner_moves_athletes_between_ticks_so_a_tick_has_less_to_do(settings):
    race = load_test_race_create(athletes=1)
    race_obj = Race.objects.select_related("course").get(pk=race["race_id"])
    line = race_obj.course.line
    cum = cumulative_distances(line)
    athlete = race["athletes"][0]["id"]

    async def scenario():
        clock = FakeClock()
        runner = TickerRunner(tick=3.0, owner="between", clock=clock)
        task = asyncio.ensure_future(runner.run())
        await clock.sleeping()  # the first tick has run; the next is 3 s after it
        engine = runner.tickers[race["race_id"]].engine
        seq = engine.seq
        lon, lat = point_at_distance(line, cum, 500)
        await live_store().publish_fixes(race["race_id"], [Fix(athlete, clock.time(), lat, lon)])
        await clock.advance(TAKE_FIXES_SECONDS)
        await clock.sleeping()  # back asleep: it has read the fixes
        moved, same_tick = engine.athletes[athlete].t is not None, engine.seq == seq
        task.cancel()
        return seq, moved, same_tick

    seq, moved, same_tick = run(scenario)
    assert seq == 1 and moved and same_tick


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("fails", ["reading fixes", "storing the tick"])
def test_a_runner_reloading_its_own_ticker_skips_a_seq_only_after_an_unstored_tick(fails):
    race = load_test_race_create(athletes=1)
    start = Race.objects.get(pk=race["race_id"]).start_time.timestamp()

    async def scenario():
        store = live_store()
        runner = TickerRunner(owner="only")
        await runner.run_once(start + 60)
        name = "read_fixes" if fails == "reading fixes" else "write_tick"
        real = getattr(store, name)

        async def broken(*args, **kwargs):
            raise ConnectionError("Redis hiccup")

        setattr(store, name, broken)
        await runner.run_once(start + 61)  # fails: the ticker is dropped
        setattr(store, name, real)
        await runner.run_once(start + 62)  # reloaded from the store
        return runner.tickers[race["race_id"]].engine.seq

    seq = run(scenario)
    assert seq == (2 if fails == "reading fixes" else 3)  # seq 2 went out unstored: skipped
