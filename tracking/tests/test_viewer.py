"""The hub's copy of a race and the viewers it feeds: snapshots at the right seq, healing."""

from __future__ import annotations

import asyncio
import json
from itertools import pairwise
from typing import Any

import pytest

from pace.daphne_patches.outlet import Outlet
from pace.lib.testing import FakeClock
from tracking.fanout.hub import RELOAD_RETRY_SECONDS, Listener, RaceHub
from tracking.fanout.viewer import Viewer
from tracking.live.livestore import RaceState, TickerMemory, live_store
from tracking.tests.helpers import QuietListener, outbox_written, run

RACE = 424242


def _message(seq: int, athletes: dict[int, int]) -> dict:
    """A ticker's group message moving each athlete to the given distance."""
    return {
        "type": "race.tick",
        "seq": seq,
        "t": float(seq),
        "athletes": [[a, f'{{"id":{a},"distance":{d}}}'] for a, d in athletes.items()],
        "field": [[a, f'[{a},0,0,{d},"racing"]'] for a, d in athletes.items()],
        "leaders": sorted(athletes),
        "results": [],
        "field_interval": 60,
        "count": 3,
    }


async def _store_tick(seq: int, athletes: dict[int, int]) -> None:
    message = _message(seq, athletes)
    meta = {"seq": seq, "t": float(seq), "leaders": message["leaders"], "race": {"athletes": 3}}
    await live_store().write_tick(
        RACE,
        meta=meta,
        changed=[tuple(pair) for pair in message["athletes"]],
        field=[tuple(pair) for pair in message["field"]],
        ticker=TickerMemory(seq=seq),
    )


async def _hub(viewers: list[Viewer]) -> RaceHub:
    hub = RaceHub(RACE)
    for viewer in viewers:
        hub.listeners.add(viewer)
    await hub._load()
    return hub


async def _started(task: asyncio.Task[None] | None) -> None:
    """Await a task of the hub that the test has just made it start (typed as optional)."""
    assert task is not None
    await task


class _Socket(Outlet):
    """A connection whose server holds ``held`` bytes not yet taken by the socket."""

    held = 0

    def backlog(self) -> int:
        return self.held


def _viewer(sent: list[dict], max_backlog: int = 1000, interval: int | None = None) -> Viewer:
    async def send(message: dict) -> None:
        sent.append(json.loads(message["text"]))

    viewer = Viewer(race={"id": RACE, "name": "R"}, outlet=_Socket(send), max_backlog=max_backlog)
    if interval:
        viewer.set_interval(interval)
    return viewer


def test_a_snapshot_comes_from_the_hubs_copy_at_the_seq_of_the_ticks_after_it():
    sent: list[dict] = []

    async def scenario():
        await _store_tick(1, {1: 100, 2: 90, 3: 80})
        viewer = _viewer(sent)
        hub = await _hub([viewer])  # the hub reads the store once and resyncs its viewers
        hub.dispatch(_message(2, {1: 200}))
        hub.dispatch(_message(3, {2: 250}))
        await outbox_written(hub)
        return hub

    hub = run(scenario)
    assert [(f["type"], f["seq"]) for f in sent] == [("snapshot", 1), ("tick", 2), ("tick", 3)]
    assert {a["id"]: a["distance"] for a in sent[0]["athletes"]} == {1: 100, 2: 90, 3: 80}
    assert hub.mirror.seq == 3 and hub.loads == 1
    # The copy is the store's state after the same ticks.
    assert hub.mirror.states[1] == '{"id":1,"distance":200}'
    assert hub.mirror.field[2] == '[2,0,0,250,"racing"]'


def test_a_late_joiner_gets_a_snapshot_with_every_tick_so_far_and_no_read():
    sent: list[dict] = []

    async def scenario():
        await _store_tick(1, {1: 100, 2: 90, 3: 80})
        hub = await _hub([])
        hub.dispatch(_message(2, {1: 200}))
        await live_store().forget(RACE)  # a later viewer must not need the store at all
        viewer = _viewer(sent)
        hub.listeners.add(viewer)
        viewer.follow([3], hub)
        await outbox_written(hub)

    run(scenario)
    (snapshot,) = sent
    assert snapshot["seq"] == 2
    # The focus: tick 2's leaders (athlete 1) and the followed athlete 3.
    assert {a["id"]: a["distance"] for a in snapshot["athletes"]} == {1: 200, 3: 80}
    assert sorted(snapshot["field"]) == [[1, 0, 0, 200, "racing"], [2, 0, 0, 90, "racing"],
                                         [3, 0, 0, 80, "racing"]]  # fmt: skip


@pytest.mark.parametrize("lost", [1, 3])
def test_the_hub_rereads_the_race_when_ticks_were_lost_and_resyncs_its_viewers(lost):
    sent: list[dict] = []

    async def scenario():
        await _store_tick(1, {1: 100, 2: 90, 3: 80})
        viewer = _viewer(sent)
        hub = await _hub([viewer])
        # Ticks 2.. never reach this process (the channel layer dropped them); the store has them.
        for seq in range(2, 2 + lost):
            await _store_tick(seq, {1: 100 + seq})
        await _store_tick(2 + lost, {2: 500})
        hub.dispatch(_message(2 + lost, {2: 500}))
        await _started(hub.loading)
        hub.dispatch(_message(3 + lost, {3: 600}))
        await outbox_written(hub)
        return hub

    hub = run(scenario)
    assert [(f["type"], f["seq"]) for f in sent] == [
        ("snapshot", 1),
        ("snapshot", 2 + lost),
        ("tick", 3 + lost),
    ]
    assert [a["distance"] for a in sent[1]["athletes"]] == [500]  # the leader, athlete 2
    assert [1, 0, 0, 101 + lost, "racing"] in sent[1]["field"]  # a lost tick's move
    assert hub.mirror.states[1] == f'{{"id":1,"distance":{101 + lost}}}'
    assert hub.loads == 2


def test_ticks_that_arrive_while_the_hub_reads_the_race_are_applied_after():
    sent: list[dict] = []

    async def scenario():
        await _store_tick(1, {1: 100, 2: 90, 3: 80})
        viewer = _viewer(sent)
        hub = RaceHub(RACE)
        hub.listeners.add(viewer)
        hub.dispatch(_message(1, {1: 100, 2: 90, 3: 80}))  # before the read: kept aside
        hub.dispatch(_message(2, {1: 300}))
        await hub._load()
        await outbox_written(hub)
        return hub

    hub = run(scenario)
    assert hub.mirror.seq == 2
    assert [(f["type"], f["seq"]) for f in sent] == [("snapshot", 2)]
    assert {a["id"]: a["distance"] for a in sent[0]["athletes"]}[1] == 300


def test_a_closed_socket_does_not_stop_the_others_frames():
    sent: list[dict] = []

    async def broken(message: dict) -> None:
        raise ConnectionResetError

    async def scenario():
        await _store_tick(1, {1: 100, 2: 90, 3: 80})
        gone = Viewer(race={"id": RACE}, outlet=Outlet(broken), max_backlog=1000)
        hub = await _hub([gone, _viewer(sent)])
        hub.dispatch(_message(2, {1: 200}))
        await outbox_written(hub)

    run(scenario)
    assert [(f["type"], f["seq"]) for f in sent] == [("snapshot", 1), ("tick", 2)]


def test_snapshots_of_one_tick_share_the_joined_field():
    async def scenario():
        await _store_tick(1, {1: 100, 2: 90, 3: 80})
        hub = await _hub([])
        first = hub.mirror.snapshot_frame({"id": RACE}, [1], None)
        second = hub.mirror.snapshot_frame({"id": RACE}, [2], 5)
        return hub, first, second

    hub, first, second = run(scenario)
    assert hub.mirror._joined is not None and hub.mirror._joined[0] == 1
    assert json.loads(first)["field"] == json.loads(second)["field"]
    assert json.loads(second)["race"]["field_interval"] == 5


def test_an_empty_store_gives_an_empty_snapshot_then_the_first_ticks():
    sent: list[dict] = []

    async def scenario():
        viewer = _viewer(sent)
        hub = await _hub([viewer])
        hub.dispatch(_message(1, {1: 10}))
        await outbox_written(hub)
        return await live_store().full_state(RACE)

    state = run(scenario)
    assert state == RaceState(meta=None, states={}, field={}, posts=[])
    assert [(f["type"], f["seq"]) for f in sent] == [("snapshot", 0), ("tick", 1)]


def test_a_hub_waits_for_a_store_that_lost_the_race_and_then_catches_up(monkeypatch):
    """Redis restarted: the store is behind the ticks the hub holds until the ticker writes
    the race whole; the hub waits (no busy loop), keeps the ticks, then syncs its viewers."""
    sent: list[dict] = []
    clock = FakeClock()

    async def scenario():
        reads = 0
        real = live_store().full_state

        async def counted(race_id):
            nonlocal reads
            reads += 1
            return await real(race_id)

        monkeypatch.setattr(live_store(), "full_state", counted)
        viewer = _viewer(sent)
        hub = RaceHub(RACE, clock=clock)
        hub.listeners.add(viewer)
        hub.dispatch(_message(7, {1: 700}))  # the store has nothing: it is behind
        loading = asyncio.ensure_future(hub._load())
        await clock.sleeping()
        await clock.advance(RELOAD_RETRY_SECONDS)
        await clock.sleeping()
        assert not hub.synced and reads == 2  # waiting between reads, not spinning
        await _store_tick(8, {1: 800, 2: 790, 3: 780})  # the ticker writes the race whole
        hub.dispatch(_message(8, {1: 800, 2: 790, 3: 780}))
        await clock.advance(RELOAD_RETRY_SECONDS)
        await loading
        await outbox_written(hub)
        return hub

    hub = run(scenario)
    assert hub.synced and hub.mirror.seq == 8
    assert [(f["type"], f["seq"]) for f in sent] == [("snapshot", 8)]


def test_a_slow_socket_gets_nothing_more_until_it_has_read_then_the_latest_state():
    """Skip to the latest state when behind: nothing is queued behind a full socket, and
    once it has read everything the viewer gets a fresh snapshot, not the stale ticks."""
    sent: list[dict] = []

    async def scenario():
        await _store_tick(1, {1: 100, 2: 90, 3: 80})
        viewer = _viewer(sent, max_backlog=1000)
        socket = viewer.outlet
        assert isinstance(socket, _Socket)
        viewer.follows = [3]
        hub = await _hub([viewer])
        hub.dispatch(_message(2, {3: 200}))
        await outbox_written(hub)
        socket.held = 5000  # the phone stopped reading
        hub.dispatch(_message(3, {3: 300}))
        viewer.hub_post('{"type":"post","athlete":3,"text":"hi"}', hub)
        viewer.hub_kudos(3, 7, "Ann", hub)
        socket.held = 10  # reading, not done yet
        hub.dispatch(_message(4, {3: 400}))
        await outbox_written(hub)
        socket.held = 0  # all read
        hub.dispatch(_message(5, {3: 500}))
        hub.dispatch(_message(6, {3: 600}))
        await outbox_written(hub)
        return viewer

    viewer = run(scenario)
    assert [(f["type"], f["seq"]) for f in sent] == [
        ("snapshot", 1), ("tick", 2), ("snapshot", 5), ("tick", 6),
    ]  # fmt: skip
    assert {a["id"]: a["distance"] for a in sent[2]["athletes"]}[3] == 500
    assert viewer.skipped == 2 and not viewer.lagging


def test_a_follow_on_a_full_socket_is_answered_once_it_has_read():
    """A client that sends follows and reads nothing would have the server hold a
    snapshot (the whole field) per follow: its snapshot waits until it has read."""
    sent: list[dict] = []

    async def scenario():
        await _store_tick(1, {1: 100, 2: 90, 3: 80})
        viewer = _viewer(sent, max_backlog=1000)
        socket = viewer.outlet
        assert isinstance(socket, _Socket)
        hub = await _hub([viewer])
        socket.held = 5000  # the client stopped reading
        for athlete in (1, 2, 3):
            viewer.follow([athlete], hub)
        hub.dispatch(_message(2, {3: 200}))
        await outbox_written(hub)
        socket.held = 0  # all read
        hub.dispatch(_message(3, {3: 300}))
        await outbox_written(hub)
        return viewer

    viewer = run(scenario)
    assert [(f["type"], f["seq"]) for f in sent] == [("snapshot", 1), ("snapshot", 3)]
    assert viewer.follows == [3] and not viewer.lagging


def _fields(sent: list[dict]) -> list[tuple[int, list[int]]]:
    return [(f["seq"], sorted(e[0] for e in f["field"])) for f in sent if f["type"] == "field"]


def test_field_frames_fall_due_from_each_viewers_own_snapshot_not_all_on_one_tick():
    """A big race's field frame is 200 KB: sent to every spectator on the same tick, it
    was gigabytes in one burst. Each viewer's field is due ``interval`` ticks after its
    last one (or its snapshot) and holds what changed since then (PROTOCOL.md §3)."""
    early: list[dict] = []
    late: list[dict] = []

    async def scenario():
        await _store_tick(1, {1: 100, 2: 90, 3: 80})
        hub = await _hub([_viewer(early, interval=3)])
        second = _viewer(late, interval=3)
        for seq, athlete in zip(range(2, 9), [3, 1, 1, 2, 2, 1, 3], strict=True):
            hub.dispatch(_message(seq, {athlete: 100 * seq}))
            if seq == 2:
                hub.listeners.add(second)
                second.resync(hub)  # joins at seq 2
        await outbox_written(hub)

    run(scenario)
    assert _fields(early) == [(4, [1, 3]), (7, [1, 2])]  # since seq 1, then since 4
    assert _fields(late) == [(5, [1, 2]), (8, [1, 2, 3])]  # since seq 2, then since 5


@pytest.mark.parametrize(
    ("lean", "race_interval", "fields"), [(True, 61, []), (False, 61, [62]), (True, 30, [31, 61])]
)
def test_a_lean_viewer_of_a_big_race_gets_no_field_frames(lean, race_interval, fields):
    """The live page (``?field=later``) refreshes a big race's field over HTTP, compressed
    (``field.json``); a race whose field fits the socket's budget every minute or less
    keeps its field frames, and so does a viewer that is not lean."""
    sent: list[dict] = []

    async def scenario():
        await _store_tick(1, {1: 100, 2: 90, 3: 80})
        viewer = Viewer(
            race={"id": RACE, "name": "R"}, outlet=_Socket(_sender(sent)), max_backlog=10**6,
            lean=lean,
        )  # fmt: skip
        hub = await _hub([viewer])
        for seq in range(2, 65):
            hub.dispatch(_message(seq, {1: 100 * seq}) | {"field_interval": race_interval})
        await outbox_written(hub)

    run(scenario)
    assert [seq for seq, _ in _fields(sent)] == fields
    assert [f["seq"] for f in sent if f["type"] == "tick"] == list(range(2, 65))


def _sender(sent: list[dict]):
    async def send(message: dict) -> None:
        sent.append(json.loads(message["text"]))

    return send


def test_a_viewer_that_shortens_its_interval_still_gets_every_change_since_its_last_field():
    sent: list[dict] = []

    async def scenario():
        await _store_tick(1, {1: 100, 2: 90, 3: 80})
        viewer = _viewer(sent, interval=2)
        hub = await _hub([viewer])
        hub.dispatch(_message(2, {1: 200}))
        hub.dispatch(_message(3, {2: 300}))  # field at 3: athletes 1 and 2
        viewer.set_interval(30)
        hub.dispatch(_message(4, {3: 400}))
        hub.dispatch(_message(5, {1: 500}))
        viewer.set_interval(1)
        hub.dispatch(_message(6, {2: 600}))  # field at 6: everything since 3
        await outbox_written(hub)

    run(scenario)
    assert _fields(sent) == [(3, [1, 2]), (6, [1, 2, 3])]
    assert {e[0]: e[3] for e in [f for f in sent if f["type"] == "field"][1]["field"]} == {
        1: 500, 2: 600, 3: 400,
    }  # fmt: skip


def test_a_viewer_that_asks_for_a_short_interval_after_its_snapshot_gets_no_longer_lag(
    monkeypatch,
):
    """The first field after a snapshot is spread over the race's interval; asking for 1 s
    must not leave a viewer waiting out a lag drawn for a 2-minute interval."""
    monkeypatch.setattr("tracking.fanout.viewer.field_lag", lambda interval: 120)
    sent: list[dict] = []

    async def scenario():
        await _store_tick(1, {1: 100, 2: 90, 3: 80})
        viewer = _viewer(sent)
        hub = await _hub([viewer])
        hub.dispatch(_message(2, {1: 200}))
        viewer.set_interval(1)
        hub.dispatch(_message(3, {2: 300}))
        await outbox_written(hub)

    run(scenario)
    assert _fields(sent) == [(3, [1, 2])]


class _Wire:
    """daphne's side of a connection, as an Outlet sees it: autobahn's state and queue."""

    STATE_OPEN = 3
    _perMessageCompress = None  # noqa: N815  (autobahn's name)

    def __init__(self) -> None:
        self.state = self.STATE_OPEN
        self.send_queue: list = []
        self.transport = self
        self.bytes = b""

    def write(self, data: bytes) -> None:
        self.bytes += data


def test_a_frame_goes_straight_onto_the_socket_unless_the_viewers_earlier_ones_wait():
    through_asgi: list[str] = []
    wire = _Wire()

    async def send(message: dict) -> None:
        await asyncio.sleep(0)
        through_asgi.append(message["text"])

    async def scenario():
        outlet = Outlet(send)
        outlet.protocol = wire
        hub = RaceHub(RACE)
        hub.post(outlet, "1")  # straight onto the socket
        wire.send_queue.append("autobahn's own")  # busy: queued on the outbox
        hub.post(outlet, "2")
        hub.post(outlet, "3")
        wire.send_queue.clear()
        hub.post(outlet, "4")  # the socket could take it, but "2" and "3" wait: after them
        assert outlet.queued == 3 and wire.bytes == b"\x81\x011"
        wire.send_queue.append("autobahn's own")  # still busy when the outbox runs: ASGI
        sending = hub.sending
        await asyncio.sleep(0)
        wire.send_queue.clear()  # free again after the first: the rest onto the socket
        await _started(sending)
        hub.post(outlet, "5")  # nothing waits any more
        return outlet

    outlet = run(scenario)
    assert through_asgi == ["2"]
    assert wire.bytes == b"\x81\x011\x81\x013\x81\x014\x81\x015" and outlet.queued == 0


def test_viewers_snapshotted_on_one_tick_get_their_first_field_frames_spread_out(monkeypatch):
    """Thousands get snapshots on one tick (the gun, a hub reading the race again): each
    waits a random part of an interval more for its first field frame, which still holds
    every change since its snapshot; after it, one every interval."""
    import random

    from tracking.fanout import viewer as viewer_module

    monkeypatch.setattr(viewer_module, "random", random.Random(7))
    sent: list[list[dict]] = [[] for _ in range(100)]

    async def scenario():
        await _store_tick(1, {1: 100, 2: 90, 3: 80})
        hub = await _hub([_viewer(frames, interval=10) for frames in sent])  # all at seq 1
        for seq in range(2, 32):
            hub.dispatch(_message(seq, {1 + seq % 3: 100 * seq}))
        await outbox_written(hub)

    run(scenario)
    firsts = [_fields(frames)[0] for frames in sent]
    assert all(11 <= seq <= 20 and athletes == [1, 2, 3] for seq, athletes in firsts)
    assert len({seq for seq, _ in firsts}) >= 8  # spread over the interval, not one tick
    assert all(b[0] - a[0] == 10 for frames in sent for a, b in pairwise(_fields(frames)))


def test_a_tick_goes_to_every_spectator_before_any_phone():
    """Phones joined first still hear a tick after the spectators: their state is due
    every few seconds; spectators watch the race to the second."""
    from tracking.fanout import hub as hub_module

    heard: list[str] = []

    class Phone(QuietListener):
        def hub_tick(self, tick, hub):
            heard.append("phone")

    class Spectator(Viewer):
        def hub_tick(self, tick, hub):
            heard.append("spectator")

    async def scenario():
        await _store_tick(1, {1: 100, 2: 90, 3: 80})
        phones = [Phone() for _ in range(20)]
        for phone in phones:
            await hub_module.join(RACE, phone, phone=True)
        # Never written to (hub_tick is their own): a socket without a send.
        spectators = [Spectator(race={"id": RACE}, outlet=_Socket(None), max_backlog=1000)  # type: ignore[arg-type]
                      for _ in range(20)]  # fmt: skip
        for spectator in spectators:
            race_hub = await hub_module.join(RACE, spectator)
        await _started(race_hub.loading)  # the hub reads the race
        race_hub.dispatch(_message(2, {1: 200}))
        listeners: list[Listener] = [*phones, *spectators]
        for listener in listeners:
            await hub_module.leave(RACE, listener)
        return race_hub

    race_hub = run(scenario)
    assert heard == ["spectator"] * 20 + ["phone"] * 20
    assert not race_hub.listeners and not race_hub.phones


def test_viewers_due_on_one_tick_share_a_field_frame_when_it_holds_the_same_athletes():
    async def scenario():
        await _store_tick(1, {1: 100, 2: 90, 3: 80})
        hub = await _hub([])
        hub.dispatch(_message(2, {1: 200, 2: 190, 3: 180}))
        hub.dispatch(_message(3, {1: 300, 2: 290, 3: 280}))
        tick = hub._tick(_message(4, {1: 400, 2: 390}))  # athlete 3 stops changing
        hub._on_tick(tick)
        return {since: hub.field_frame(tick, since) for since in range(6)}, tick

    frames, tick = run(scenario)
    fields = {s: [e[0] for e in json.loads(text)["field"]] for s, (text, _) in frames.items()}
    assert fields == {0: [1, 2, 3], 1: [1, 2, 3], 2: [1, 2, 3], 3: [1, 2], 4: [], 5: []}
    assert frames[0] is frames[1] is frames[2] and frames[4] is frames[5]  # built once each
    assert len(tick.field_cache) == 3


def test_a_hub_outlives_its_last_listener_for_a_while():
    """A phone reconnecting to a process where it was the race's only listener finds the
    hub up: no new subscription, no new read of the race's whole state."""
    from tracking.fanout import hub as hubs
    from tracking.tests.helpers import QuietListener

    clock = FakeClock()

    async def scenario():
        phone, again = QuietListener(), QuietListener()
        first = await hubs.join(RACE, phone, phone=True)
        first.clock = clock  # what its waits go by
        # Its read of the race is real I/O with Redis: done before the fake clock moves.
        await _started(first.loading)
        await hubs.leave(RACE, phone)
        await clock.advance(hubs.IDLE_SECONDS - 1)
        assert hubs._hubs()[0].get(RACE) is first  # kept
        assert await hubs.join(RACE, again, phone=True) is first  # reconnected: the same hub
        await clock.advance(5)
        assert hubs._hubs()[0].get(RACE) is first  # a listener again: not stopped
        await hubs.leave(RACE, again)
        await clock.advance(hubs.IDLE_SECONDS)
        assert RACE not in hubs._hubs()[0]  # idle long enough: stopped
        return first.loads

    assert run(scenario) == 1


def test_a_hub_keeps_listening_when_the_channel_layer_fails():
    """A receive that fails (Redis restarting, a late reply: "Timeout reading") once
    ended the hub's task: its viewers got no tick again. It retries, and subscribes again."""
    from tracking.fanout import hub as hubs

    clock = FakeClock()
    got: list[dict] = []

    class Layer:
        def __init__(self) -> None:
            self.answers: list[Any] = [TimeoutError("Timeout reading"), {"type": "race.x"}]
            self.groups: list[str] = []

        async def receive(self, channel: str) -> dict:
            if not self.answers:
                await asyncio.Event().wait()  # nothing more
            answer = self.answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer

        async def group_add(self, group: str, channel: str) -> None:
            self.groups.append(group)

    async def scenario():
        hub = hubs.RaceHub(RACE, clock=clock)
        hub.dispatch = got.append  # type: ignore[method-assign,assignment]
        layer = Layer()
        task = asyncio.ensure_future(hub._receive(layer))
        await clock.sleeping()
        await clock.advance(RELOAD_RETRY_SECONDS)
        assert not task.done()
        task.cancel()
        return layer.groups

    groups = run(scenario)
    assert got == [{"type": "race.x"}]
    assert len(groups) == 2  # both of the race's groups joined again
