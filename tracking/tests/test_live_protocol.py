"""PROTOCOL.md §3 (/ws/live/RACE_ID/): snapshot, ticks, field, follow, kudos, posts, results.

Tickers are stepped by hand with a made-up clock; fixes go through the race's
buffer as the ingest leaves them there.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db.backends.base.base import BaseDatabaseWrapper

from events.models import Event, Race
from pace.lib.geo import cumulative_distances, point_at_distance
from tracking.live.engine import Fix
from tracking.live.livestore import live_store
from tracking.live.ticker import RaceTicker
from tracking.models import Kudos, Tracker
from tracking.sim.testrace import load_test_race_create
from tracking.tests.helpers import connect, frame, frames_until, run, send

pytestmark = pytest.mark.django_db(transaction=True)


class Course:
    """Where an athlete is at a distance along the test race's course."""

    def __init__(self, race: Race) -> None:
        assert race.course is not None and race.distance_m is not None
        self.line = race.course.line
        self.cum = cumulative_distances(self.line)
        self.scale = self.cum[-1] / race.distance_m

    def at(self, metres: float) -> tuple[float, float]:
        lon, lat = point_at_distance(self.line, self.cum, metres * self.scale)
        return lat, lon


@pytest.fixture
def race() -> dict[str, Any]:
    data = load_test_race_create(athletes=30)
    data["start"] = Race.objects.get(pk=data["race_id"]).start_time.timestamp()
    return data


@pytest.fixture
def course(race) -> Course:
    return Course(Race.objects.select_related("course").get(pk=race["race_id"]))


async def move(race_id: int, course: Course, where: dict[int, float], t: float) -> None:
    """Each athlete in ``where`` sends a fix at its distance, at time t."""
    fixes = [Fix(a, t, *course.at(d), hr=140) for a, d in where.items()]
    await live_store().publish_fixes(race_id, fixes)


def test_it_sends_a_snapshot_then_ticks_of_the_focus_and_field(race, course):
    race_id, ids = race["race_id"], [a["id"] for a in race["athletes"]]
    t0 = race["start"] + 60

    async def scenario():
        ticker = RaceTicker(race_id)
        await move(race_id, course, {ids[0]: 300, ids[1]: 250}, t0)
        await ticker.step(t0)
        viewer = await connect(f"/ws/live/{race_id}/")
        snapshot = await frame(viewer)
        await move(race_id, course, {ids[0]: 600}, t0 + 60)
        await ticker.step(t0 + 60)
        after = await frames_until(viewer, "field")
        return snapshot, after

    snapshot, (tick, field) = run(scenario)
    assert snapshot["type"] == "snapshot" and snapshot["seq"] == 1
    info = snapshot["race"]
    assert info["id"] == race_id and info["athletes"] == 30 and info["field_interval"] == 1
    assert info["course_url"] == race["course_url"]
    assert [a["id"] for a in snapshot["athletes"][:2]] == [ids[0], ids[1]]
    leader = snapshot["athletes"][0]
    assert leader["status"] == "racing" and leader["rank"] == 1 and leader["hr"] == 140
    assert leader["distance"] == pytest.approx(300, abs=20)
    assert len(snapshot["field"]) == 30
    assert tick["type"] == "tick" and tick["seq"] == 2
    assert [a["id"] for a in tick["athletes"]] == [ids[0]]
    assert tick["athletes"][0]["distance"] == pytest.approx(600, abs=20)
    assert field["seq"] == 2
    assert [e[0] for e in field["field"]] == [ids[0]]
    assert field["field"][0][3] == pytest.approx(600, abs=20)


def test_it_answers_follow_with_a_snapshot_of_the_followed(race, course):
    race_id, ids = race["race_id"], [a["id"] for a in race["athletes"]]

    async def scenario():
        ticker = RaceTicker(race_id)
        await ticker.step(race["start"] + 10)
        viewer = await connect(f"/ws/live/{race_id}/")
        await frame(viewer)
        await send(viewer, {"type": "follow", "athletes": [ids[20], ids[21]]})
        followed = await frame(viewer)
        await send(viewer, {"type": "follow", "athletes": list(range(1, 52))})
        too_many = await frame(viewer)
        await send(viewer, {"type": "follow", "athletes": ["x"]})
        bad = await frame(viewer)
        await send(viewer, {"type": "follow", "athletes": [999_999]})
        unknown = await frame(viewer)
        return followed, too_many, bad, unknown

    followed, too_many, bad, unknown = run(scenario)
    assert followed["type"] == "snapshot"
    assert {a["id"] for a in followed["athletes"]} == {ids[20], ids[21]}
    assert too_many["code"] == "too_many"
    assert bad["code"] == "bad_follow"
    assert unknown["code"] == "unknown_athlete"


def test_it_sends_field_frames_at_the_viewers_interval(race, course):
    race_id, ids = race["race_id"], [a["id"] for a in race["athletes"]]
    t0 = race["start"] + 30

    async def scenario():
        ticker = RaceTicker(race_id)
        await ticker.step(t0)
        viewer = await connect(f"/ws/live/{race_id}/")
        await frame(viewer)
        for bad in (0, 61, "5", 2.5):
            await send(viewer, {"type": "field", "interval": bad})
            assert (await frame(viewer))["code"] == "bad_interval"
        await send(viewer, {"type": "field", "interval": 3})
        assert await viewer.receive_nothing(0.2)  # the request is not answered
        kinds = []
        for k in range(1, 7):
            await move(race_id, course, {ids[k]: 100 * k}, t0 + k)
            await ticker.step(t0 + k)
            kinds.append(await frame(viewer))
            if k % 3 == 0:  # 3 ticks after the snapshot (seq 1), then after each field
                kinds.append(await frame(viewer))
        return kinds

    frames = run(scenario)
    fields = [f for f in frames if f["type"] == "field"]
    assert [f["seq"] for f in fields] == [4, 7]
    # Every athlete that moved since the last field frame (seq 5, 6, 7), once, in its
    # latest state; and those whose standing changed with it (passed: a new rank).
    later = {e[0]: e for e in fields[1]["field"]}
    assert len(later) == len(fields[1]["field"]) and set(ids[4:7]) <= set(later)
    earlier = {e[0]: e for e in fields[0]["field"]}
    for athlete in set(later) - set(ids[4:7]):
        assert later[athlete][5] != earlier[athlete][5]  # its rank
    assert [later[ids[k]][3] for k in (4, 5, 6)] == [400, 500, 600]


def test_it_stores_kudos_tells_the_athlete_and_limits_the_rate(race, course, settings):
    settings.TRACKING_KUDOS_BURST = 2
    race_id = race["race_id"]
    athlete = race["athletes"][0]

    async def scenario():
        ticker = RaceTicker(race_id)
        await move(race_id, course, {athlete["id"]: 100}, race["start"] + 30)
        await ticker.step(race["start"] + 30)
        phone = await connect(f"/ws/track/?token={athlete['token']}")
        await frame(phone)
        viewer = await connect(f"/ws/live/{race_id}/")
        await frame(viewer)
        for _ in range(3):
            await send(viewer, {"type": "kudos", "athlete": athlete["id"]})
        limited = await frame(viewer)
        await send(viewer, {"type": "kudos", "athlete": 123456789})
        unknown = await frame(viewer)
        cheered = await frame(phone, timeout=4)
        seen = await frame(viewer, timeout=4)
        return limited, unknown, cheered, seen

    limited, unknown, cheered, seen = run(scenario)
    assert limited["code"] == "rate_limited"
    assert unknown["code"] == "unknown_athlete"
    assert cheered == {"type": "kudos", "from": "A spectator", "count": 2}
    assert seen == {"type": "kudos", "athlete": athlete["id"], "count": 2}
    assert Kudos.objects.filter(registration_id=athlete["id"]).count() == 2
    assert Tracker.objects.get(registration_id=athlete["id"]).kudos == 2


def test_it_shows_posts_live_and_in_later_snapshots(race):
    race_id = race["race_id"]
    athlete = race["athletes"][3]

    async def scenario():
        await RaceTicker(race_id).step(race["start"] + 5)
        viewer = await connect(f"/ws/live/{race_id}/")
        await frame(viewer)
        phone = await connect(f"/ws/track/?token={athlete['token']}")
        await frame(phone)
        await send(phone, {"type": "post", "text": "  Km 5, legs ok  "})
        live = await frame(viewer)
        late = await connect(f"/ws/live/{race_id}/")
        return live, await frame(late)

    live, snapshot = run(scenario)
    assert live["type"] == "post" and live["athlete"] == athlete["id"]
    assert live["text"] == "Km 5, legs ok" and live["name"] == "Athlete 4"
    assert snapshot["posts"] == [live]


def test_it_sends_results_when_athletes_cross_splits(race, course):
    race_id, ids = race["race_id"], [a["id"] for a in race["athletes"]]
    t0 = race["start"]

    async def scenario():
        ticker = RaceTicker(race_id)
        await move(race_id, course, {ids[0]: 4900}, t0 + 1200)
        await ticker.step(t0 + 1200)
        viewer = await connect(f"/ws/live/{race_id}/")
        await frame(viewer)
        await move(race_id, course, {ids[0]: 5100}, t0 + 1250)
        await ticker.step(t0 + 1250)
        return await frames_until(viewer, "result")

    frames = run(scenario)
    result = frames[-1]
    assert result["athlete"] == ids[0] and result["point"] == "5 km" and result["rank"] == 1
    assert t0 + 1200 < result["time"] < t0 + 1250


def test_it_refuses_unknown_and_unpublished_races(race):
    Event.objects.filter(races__pk=race["race_id"]).update(status=Event.Status.DRAFT)

    async def scenario():
        from channels.testing import WebsocketCommunicator

        from tracking.tests.helpers import APP

        out = []
        for path in (f"/ws/live/{race['race_id']}/", "/ws/live/999999/"):
            client = WebsocketCommunicator(APP, path)
            connected, code = await client.connect()
            out.append((connected, code))
        return out

    assert run(scenario) == [(False, 4404), (False, 4404)]


def test_it_answers_bad_spectator_frames(race):
    async def scenario():
        viewer = await connect(f"/ws/live/{race['race_id']}/")
        await frame(viewer)
        out = []
        for text in ("nope", '{"type":"dance"}', '{"type":"kudos","athlete":"1"}'):
            await viewer.send_to(text_data=text)
            out.append((await frame(viewer))["code"])
        return out

    assert run(scenario) == ["bad_json", "unknown_type", "unknown_athlete"]


class QueryCounter:
    """Counts database queries from every thread (consumers query from worker threads)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        self.lock = threading.Lock()
        original = BaseDatabaseWrapper.cursor

        def cursor(conn: Any) -> Any:
            with self.lock:
                self.count += 1
            return original(conn)

        monkeypatch.setattr(BaseDatabaseWrapper, "cursor", cursor)


def apply(state: dict[str, Any], got: dict[str, Any]) -> None:
    """What a client does with a frame: a snapshot replaces, ticks and field frames update."""
    if got["type"] == "snapshot":
        state["seq"] = got["seq"]
        state["athletes"] = {a["id"]: a for a in got["athletes"]}
        state["field"] = {e[0]: e for e in got["field"]}
    elif got["type"] == "tick":
        assert got["seq"] == state["seq"] + 1, "a tick was missed"
        state["seq"] = got["seq"]
        state["athletes"].update({a["id"]: a for a in got["athletes"]})
    elif got["type"] == "field":
        assert got["seq"] == state["seq"]
        state["field"].update({e[0]: e for e in got["field"]})


def test_a_snapshot_with_the_ticks_that_follow_equals_a_fresh_snapshot(  # noqa: C901
    race, course, settings, monkeypatch
):
    """The state invariant (ARCHITECTURE.md), over a race with follows, status changes
    (starts, a lost signal, finishes) and a late joiner; and consumers query nothing per tick."""
    settings.TRACKING_LOST_SIGNAL_SECONDS = 20
    race_id, ids = race["race_id"], [a["id"] for a in race["athletes"]]
    t0 = race["start"]
    speeds = {a: 3.0 + (i % 7) * 0.35 for i, a in enumerate(ids[:25])}  # 5 never start
    quiet = ids[3]  # its phone dies at 100 s
    counter = QueryCounter(monkeypatch)

    async def scenario():
        ticker = RaceTicker(race_id)
        early = await connect(f"/ws/live/{race_id}/")
        views: dict[str, tuple[Any, dict[str, Any]]] = {"early": (early, {})}
        apply(views["early"][1], await frame(early))
        await send(early, {"type": "follow", "athletes": [ids[2], quiet, ids[27]]})
        apply(views["early"][1], await frame(early))
        per_tick = []
        for step in range(1, 83):  # ends on a seq where the late viewer gets a field frame
            t = t0 + step * 40
            where = {
                a: min(10_050, v * step * 40)
                for a, v in speeds.items()
                if a != quiet or step * 40 < 100
            }
            await move(race_id, course, where, t)
            await ticker.step(t)
            if step == 30:
                late = await connect(f"/ws/live/{race_id}/")
                views["late"] = (late, {})
                apply(views["late"][1], await frame(late))
                await send(late, {"type": "field", "interval": 4})
            if step == 50:
                await send(early, {"type": "follow", "athletes": [ids[5], ids[6]]})
            before = counter.count
            for client, state in views.values():
                while state["seq"] < ticker.engine.seq:
                    apply(state, await frame(client))
            # Field frames due at this seq follow their tick: take them too.
            for client, state in views.values():
                while not await client.receive_nothing(0.05):
                    apply(state, await frame(client))
            per_tick.append(counter.count - before)
        # A fresh viewer at the same seq, with the same follows and interval as each one.
        fresh = {}
        for name, follows in (("early", [ids[5], ids[6]]), ("late", [])):
            viewer = await connect(f"/ws/live/{race_id}/")
            state = {}
            apply(state, await frame(viewer))
            if follows:
                await send(viewer, {"type": "follow", "athletes": follows})
                apply(state, await frame(viewer))
            fresh[name] = state
        return {n: s for n, (_, s) in views.items()}, fresh, per_tick

    applied, fresh, per_tick = run(scenario)
    assert per_tick == [0] * len(per_tick)
    statuses = {a["status"] for a in fresh["early"]["athletes"].values()}
    assert {"finished"} <= statuses
    field_statuses = {e[4] for e in fresh["late"]["field"].values()}
    assert {"finished", "lost_signal", "not_started"} <= field_statuses
    for name in ("early", "late"):
        assert applied[name]["seq"] == fresh[name]["seq"]
        assert applied[name]["field"] == fresh[name]["field"]
        for athlete_id, state in fresh[name]["athletes"].items():
            assert applied[name]["athletes"][athlete_id] == state
