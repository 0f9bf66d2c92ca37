"""PROTOCOL.md §1 (/ws/track/): every frame and error, as a phone meets them."""

from __future__ import annotations

import asyncio
import json
import math
import re
import threading
import time
from typing import Any

import pytest
from django.utils import timezone

from pace.lib.testing import FakeClock, wait_until
from tracking.models import Position, Post, Tracker, secret_digest
from tracking.sim.testrace import load_test_race_create
from tracking.tests.helpers import connect, frame, outbox_written, point, run, send

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def race() -> dict:
    return load_test_race_create(athletes=3)


def test_it_welcomes_a_tracker_with_its_token_in_the_url(race):
    athlete = race["athletes"][0]

    async def scenario():
        client = await connect(f"/ws/track/?token={athlete['token']}")
        welcome = await frame(client)
        await client.disconnect()
        return welcome

    welcome = run(scenario)
    assert welcome["type"] == "welcome"
    assert welcome["athlete"] == {"id": athlete["id"], "name": "Athlete 1", "bib": "1"}
    assert welcome["race"]["id"] == race["race_id"]
    assert welcome["last_seq"] is None


def test_it_acks_a_batch_once_stored_and_stores_a_resend_once(race):
    athlete = race["athletes"][0]
    now = time.time()

    async def scenario():
        client = await connect("/ws/track/")
        await send(client, {"type": "hello", "token": athlete["token"], "device": "test"})
        assert (await frame(client))["type"] == "welcome"
        batch = {"type": "pos", "seq": 1, "points": [point(now - 2), point(now - 1, hr=150)]}
        await send(client, batch)
        first = await frame(client)
        await send(client, batch)
        second = await frame(client)
        await client.disconnect()
        again = await connect(f"/ws/track/?token={athlete['token']}")
        await frame(again)  # the URL's token alone: no device named yet
        await send(again, {"type": "hello", "device": "test"})
        welcome = await frame(again)
        await again.disconnect()
        return first, second, welcome

    first, second, welcome = run(scenario)
    assert first == {"type": "ack", "seq": 1}
    assert second == {"type": "ack", "seq": 1}
    assert Position.objects.filter(registration_id=athlete["id"]).count() == 2
    assert welcome["last_seq"] == 1


def test_each_device_of_an_athlete_is_told_its_own_last_seq(race):
    """seq counts per device (PROTOCOL.md §1): a second phone must not be told the first
    one's last_seq, or it would drop the batches it holds as if they were stored."""
    athlete = race["athletes"][0]
    now = time.time()

    async def batches(device: str, seqs: range, offset: float) -> dict:
        client = await connect("/ws/track/")
        await send(client, {"type": "hello", "token": athlete["token"], "device": device})
        welcome = await frame(client)
        for seq in seqs:
            await send(client, {"type": "pos", "seq": seq, "points": [point(now - offset + seq)]})
            assert await frame(client) == {"type": "ack", "seq": seq}
        await client.disconnect()
        return welcome

    async def scenario():
        await batches("watch", range(1, 41), 100)
        phone = await batches("phone / app 1.2", range(1, 4), 50)
        return (
            phone,
            await batches("watch", range(0), 0),
            await batches("phone / app 1.2", range(0), 0),
        )

    phone_first, watch_again, phone_again = run(scenario)
    assert phone_first["last_seq"] is None
    assert (watch_again["last_seq"], phone_again["last_seq"]) == (40, 3)
    assert Position.objects.filter(registration_id=athlete["id"]).count() == 43


def test_it_stores_a_resend_from_a_new_connection_once(race):
    """The ack was lost: the phone reconnects and resends with the same seq."""
    athlete = race["athletes"][0]
    now = time.time()
    batch = {"type": "pos", "seq": 7, "points": [point(now - 3), point(now - 2)]}

    async def scenario():
        for _ in range(2):
            client = await connect(f"/ws/track/?token={athlete['token']}")
            await frame(client)
            await send(client, batch)
            assert await frame(client) == {"type": "ack", "seq": 7}
            await client.disconnect()

    # Forget what the welcome said, as a phone that never got its ack would.
    run(scenario)
    assert Position.objects.filter(registration_id=athlete["id"]).count() == 2


@pytest.mark.parametrize("token", ["nope", "", "x" * 500])
def test_it_refuses_an_unknown_token(race, token):
    async def scenario():
        client = await connect("/ws/track/")
        await send(client, {"type": "hello", "token": token})
        error = await frame(client)
        closed = await client.receive_output(3)
        return error, closed

    error, closed = run(scenario)
    assert error["type"] == "error" and error["code"] == "unauthorized"
    assert closed == {"type": "websocket.close", "code": 4401}


def test_it_refuses_a_revoked_token(race):
    athlete = race["athletes"][0]
    revoked = Tracker.objects.filter(token_digest=secret_digest(athlete["token"]))
    revoked.update(revoked_at=timezone.now())

    async def scenario():
        client = await connect(f"/ws/track/?token={athlete['token']}")
        error = await frame(client)
        closed = await client.receive_output(3)
        return error, closed

    error, closed = run(scenario)
    assert error["code"] == "unauthorized"
    assert closed["code"] == 4401


def test_it_asks_for_hello_before_points(race):
    async def scenario():
        client = await connect("/ws/track/")
        await send(client, {"type": "pos", "seq": 1, "points": [point(time.time())]})
        return await frame(client)

    assert run(scenario)["code"] == "unauthorized"
    assert Position.objects.count() == 0


def test_it_keeps_the_valid_points_of_a_batch_and_counts_the_others(race):
    athlete = race["athletes"][0]
    now = time.time()
    points = [
        point(now - 5),
        point(now - 4, lat=91),
        point(now - 3, lon=-181),
        point(now + 3600),  # an hour in the future
        point(now - 10 * 86400),  # before the race opened
        {"t": now - 2, "lat": "45", "lon": 6},
        {"t": now - 1, "lat": 45},
        "not a point",
        point(now - 1, hr=True),
        point(now),
    ]

    async def scenario():
        client = await connect(f"/ws/track/?token={athlete['token']}")
        await frame(client)
        await send(client, {"type": "pos", "seq": 3, "points": points})
        error = await frame(client)
        ack = await frame(client)
        # NaN is not JSON, but Python's and JavaScript's encoders write it.
        await client.send_to(
            text_data='{"type":"pos","seq":4,"points":[{"t":' + str(now) + ',"lat":NaN,"lon":6}]}'
        )
        nan_error = await frame(client)
        nan_ack = await frame(client)
        return error, ack, nan_error, nan_ack

    error, ack, nan_error, nan_ack = run(scenario)
    assert error["code"] == "invalid_point" and error["seq"] == 3 and error["dropped"] == 8
    assert "point 1: lat must be within" in error["detail"]
    assert ack == {"type": "ack", "seq": 3}
    assert nan_error["code"] == "invalid_point" and "finite" in nan_error["detail"]
    assert nan_ack == {"type": "ack", "seq": 4}
    stored = Position.objects.filter(registration_id=athlete["id"])
    assert stored.count() == 2
    assert all(math.isfinite(p.lat) for p in stored)


@pytest.mark.parametrize(
    ("batch", "code"),
    [
        ({"type": "pos", "seq": 1, "points": []}, "bad_batch"),
        ({"type": "pos", "seq": 1, "points": "x"}, "bad_batch"),
        ({"type": "pos", "seq": "1", "points": [{}]}, "bad_seq"),
        ({"type": "pos", "seq": -3, "points": [{}]}, "bad_seq"),
        ({"type": "pos", "seq": True, "points": [{}]}, "bad_seq"),
    ],
)
def test_it_answers_a_malformed_batch(race, batch, code):
    athlete = race["athletes"][0]

    async def scenario():
        client = await connect(f"/ws/track/?token={athlete['token']}")
        await frame(client)
        await send(client, batch)
        return await frame(client)

    assert run(scenario)["code"] == code
    assert Position.objects.count() == 0


def test_it_refuses_a_10000_point_batch_and_carries_on(race):
    athlete = race["athletes"][0]
    now = time.time()
    huge = {"type": "pos", "seq": 1, "points": [point(now - i / 100) for i in range(10_000)]}

    async def scenario():
        client = await connect(f"/ws/track/?token={athlete['token']}")
        await frame(client)
        await send(client, huge)
        error = await frame(client)
        await send(client, {"type": "pos", "seq": 2, "points": [point(now)]})
        return error, await frame(client)

    error, ack = run(scenario)
    assert error["code"] == "bad_batch" and error["seq"] == 1
    assert ack == {"type": "ack", "seq": 2}
    assert Position.objects.count() == 1


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("{not json", "bad_json"),
        ("[1, 2]", "bad_frame"),
        ('{"type": 5}', "bad_frame"),
        ('{"type": "dance"}', "unknown_type"),
    ],
)
def test_it_answers_bad_frames_and_keeps_the_connection(race, text, code):
    athlete = race["athletes"][0]

    async def scenario():
        client = await connect(f"/ws/track/?token={athlete['token']}")
        await frame(client)
        await client.send_to(text_data=text)
        error = await frame(client)
        await send(client, {"type": "pos", "seq": 1, "points": [point(time.time())]})
        return error, await frame(client)

    error, ack = run(scenario)
    assert error["type"] == "error" and error["code"] == code
    assert ack["type"] == "ack"


def test_it_stores_a_post_and_refuses_a_long_one(race):
    athlete = race["athletes"][0]

    async def scenario():
        client = await connect(f"/ws/track/?token={athlete['token']}")
        await frame(client)
        await send(client, {"type": "post", "text": "x" * 281})
        error = await frame(client)
        await send(client, {"type": "post", "text": "Halfway, feeling great!"})
        await client.receive_nothing(0.3)
        return error

    assert run(scenario)["code"] == "bad_post"
    assert list(Post.objects.values_list("text", flat=True)) == ["Halfway, feeling great!"]


def test_it_closes_a_connection_whose_token_was_replaced(race):
    from channels.db import database_sync_to_async

    from tracking.ingest.trackers import tracker_rotate_token

    athlete, other = race["athletes"][0], race["athletes"][1]

    async def scenario():
        client = await connect(f"/ws/track/?token={athlete['token']}")
        bystander = await connect(f"/ws/track/?token={other['token']}")
        await frame(client)
        await frame(bystander)
        tracker = await database_sync_to_async(Tracker.objects.select_related("registration").get)(
            token_digest=secret_digest(athlete["token"])
        )
        await database_sync_to_async(tracker_rotate_token)(tracker=tracker)
        error = await frame(client)
        closed = await client.receive_output(3)
        await send(bystander, {"type": "pos", "seq": 1, "points": [point(time.time())]})
        return error, closed, await frame(bystander)

    error, closed, ack = run(scenario)
    assert error["code"] == "unauthorized" and closed["code"] == 4401
    assert ack == {"type": "ack", "seq": 1}


def test_it_sends_the_athlete_its_standing_now_and_then_and_at_once_on_a_new_status(
    race, settings, monkeypatch
):
    from channels.layers import get_channel_layer

    from tracking.fanout import hub
    from tracking.ingest.consumers import TrackerConsumer
    from tracking.live.groups import race_group

    settings.TRACKING_STATE_SECONDS = 1.0
    clock = FakeClock()
    monkeypatch.setattr(TrackerConsumer, "clock", clock)
    athlete = race["athletes"][0]

    def tick(seq: int, distance: int | None, status: str = "racing") -> dict:
        state = f'{{"id":{athlete["id"]},"distance":{distance},"progress":0.1,"rank":2,'
        state += f'"status":"{status}"}}'
        entry = f'[{athlete["id"]},45.0,6.0,{distance},"{status}"]'  # as the ticker sends
        return {"type": "race.tick", "seq": seq, "t": float(seq), "leaders": [],
                "athletes": [] if distance is None else [[athlete["id"], state]],
                "field": [] if distance is None else [[athlete["id"], entry]],
                "results": [], "field_interval": 60, "count": 3}  # fmt: skip

    async def scenario():
        client = await connect(f"/ws/track/?token={athlete['token']}")
        await frame(client)  # welcome
        layer, group = get_channel_layer(), race_group(race["race_id"])
        got = []
        race_hub = hub._hubs()[0][race["race_id"]]
        for seq, distance, status, pause in [
            (1, 100, "racing", 0),  # the first standing: sent
            (2, 110, "racing", 0),  # too soon: held
            (3, 120, "finished", 1.1),  # a new status: sent at once
            (4, None, "finished", 0),  # nothing new, though due: nothing
            (5, 130, "finished", 0),  # due and new: sent
        ]:
            await layer.group_send(group, tick(seq, distance, status))
            await wait_until(lambda: race_hub.last_seq >= seq and race_hub.synced)  # noqa: B023
            await outbox_written(race_hub)
            while not await client.receive_nothing(0):
                got.append((seq, await frame(client)))
            await clock.advance(pause)
        return got

    got = run(scenario)
    assert [(seq, f["type"], f["distance"], f["status"]) for seq, f in got] == [
        (1, "state", 100, "racing"),
        (3, "state", 120, "finished"),
        (5, "state", 130, "finished"),
    ]
    assert got[0][1] == {"type": "state", "distance": 100, "progress": 0.1, "rank": 2,
                         "status": "racing"}  # fmt: skip


def _seqs(batches: list[tuple[list[tuple[Any, ...]], Any]]) -> set[int]:
    """The seqs of a group commit's batches (``pending``, ``to_store``)."""
    return {row[2] for rows, _ in batches for row in rows}


@pytest.mark.parametrize("behind", ["queued for writing", "being handed to the ticker"])
def test_a_failed_commit_fails_the_batches_behind_it_and_loses_nothing(race, monkeypatch, behind):
    """The database fails one commit while the phone keeps sending: that batch and those
    behind it are refused, none is stored past a lost one, and the phone's resend after
    reconnecting stores everything once."""
    from django.db import OperationalError

    from tracking.ingest import commit

    athlete = race["athletes"][0]
    now = time.time()
    store, commits = commit.store_rows, []
    publish, published = commit._publish, []
    sent_behind = threading.Event()  # the phone has sent the batches behind the failing one

    def failing_once(rows):
        commits.append(len(rows))
        if len(commits) == 2:
            sent_behind.wait(10)  # the phone sends its next batches meanwhile
            raise OperationalError("the database went away")
        store(rows)

    async def slow_third(rows):
        published.append(len(rows))
        if len(published) == 3 and behind == "being handed to the ticker":
            group = commit.group_commit()
            await wait_until(lambda: group.failures)  # still in hand when the commit fails
        await publish(rows)

    monkeypatch.setattr(commit, "store_rows", failing_once)
    monkeypatch.setattr(commit, "_publish", slow_third)
    batches = [{"type": "pos", "seq": s, "points": [point(now - 10 + s)]} for s in range(1, 6)]

    async def scenario():
        client = await connect(f"/ws/track/?token={athlete['token']}")
        await frame(client)
        await send(client, batches[0])
        assert await frame(client) == {"type": "ack", "seq": 1}
        await send(client, batches[1])
        await wait_until(lambda: len(commits) == 2)  # seq 2 is being stored
        await send(client, batches[2])
        group = commit.group_commit()
        if behind == "queued for writing":
            await wait_until(lambda: 3 in _seqs(group.to_store))
        else:
            await wait_until(lambda: len(published) == 3)
        await send(client, batches[3])  # seq 3 queued for storing, seq 4 not yet gathered
        await wait_until(  # seq 4 is with the group commit
            lambda: 4 in _seqs(group.pending) | _seqs(group.to_store) or len(published) > 3
        )
        sent_behind.set()
        refused = await frame(client)
        await send(client, batches[4])  # already on its way when the server gave up
        closed = await client.receive_output(3)
        await group.submit([])  # the phone's back-off: every commit before this one is done
        again = await connect(f"/ws/track/?token={athlete['token']}")
        welcome = await frame(again)
        acks = []
        for batch in batches[welcome["last_seq"] :]:
            await send(again, batch)
            acks.append(await frame(again))
        return refused, closed, welcome, acks

    refused, closed, welcome, acks = run(scenario)
    assert refused["type"] == "error" and refused["code"] == "not_stored" and refused["seq"] == 2
    assert closed == {"type": "websocket.close", "code": 1011}
    assert welcome["last_seq"] == 1  # nothing behind the lost batch was stored
    assert acks == [{"type": "ack", "seq": s} for s in (2, 3, 4, 5)]
    stored = Position.objects.filter(registration_id=athlete["id"])
    assert sorted(stored.values_list("seq", flat=True)) == [1, 2, 3, 4, 5]


def test_the_ticker_has_a_fix_before_its_commit_and_commits_stay_grouped(
    race, monkeypatch, settings
):
    """A fix goes to the race's ticker after the short publish window; its ack waits for
    the group commit, which comes at most once a commit window however often fixes do."""
    from tracking.ingest import commit
    from tracking.live.livestore import live_store

    window, publish_window = 0.4, 0.01
    athlete, now = race["athletes"][0], time.time()
    store, commits = commit.store_rows, []

    def counted(rows: list[tuple[Any, ...]]) -> None:
        commits.append(rows)
        store(rows)

    monkeypatch.setattr(commit, "store_rows", counted)
    clock = FakeClock()

    async def published(t: float) -> bool:
        _, fixes = await live_store().read_fixes(race["race_id"], "0")
        return any(f.athlete == athlete["id"] and abs(f.t - t) < 0.001 for f in fixes)

    async def scenario():
        group = commit.GroupCommit(window, publish_window, clock=clock)
        commit._commits[asyncio.get_running_loop()] = group  # this loop's, on the test's clock
        client = await connect(f"/ws/track/?token={athlete['token']}")
        await frame(client)
        await send(client, {"type": "pos", "seq": 1, "points": [point(now - 30)]})
        await clock.sleeping()  # the publish window
        await clock.advance(publish_window)
        assert await frame(client) == {"type": "ack", "seq": 1}  # the first commit: at once
        await send(client, {"type": "pos", "seq": 2, "points": [point(now - 29)]})
        await clock.sleeping()
        before_window = not await published(now - 29)
        await clock.advance(publish_window)
        await wait_until(lambda: published(now - 29))
        await clock.sleeping()  # the writer waits out the commit window
        not_acked_yet = await client.receive_nothing(0)
        await clock.advance(window)
        ack = await frame(client)
        started = clock.monotonic()
        for seq in range(3, 23):  # a batch every 20 ms
            await send(client, {"type": "pos", "seq": seq, "points": [point(now - 30 + seq)]})
            await wait_until(lambda: group.pending)
            await clock.advance(0.02)
        await clock.advance(window)  # the last commit window ends
        acks = [await frame(client) for _ in range(3, 23)]
        return before_window, not_acked_yet, ack, acks, clock.monotonic() - started

    before_window, not_acked_yet, ack, acks, took = run(scenario)
    assert before_window and not_acked_yet and ack == {"type": "ack", "seq": 2}
    assert acks == [{"type": "ack", "seq": s} for s in range(3, 23)]
    assert len(commits) - 2 <= took / window + 1  # twenty batches, a few commits
    assert Position.objects.filter(registration_id=athlete["id"]).count() == 22


def test_a_socket_sending_far_more_points_than_a_phone_is_closed_with_a_retry_hint(race, settings):
    """One token, 200 full batches in a second stored 100,000 rows: past the burst the
    socket is closed with 1013 and retry=S, nothing more is stored from it, and what was
    acked is kept (the phone resends the rest after it reconnects)."""
    from tracking.ingest.commit import group_commit

    settings.TRACKING_POINTS_BURST, settings.TRACKING_POINTS_PER_SECOND = 1_000, 1.0
    athlete = race["athletes"][0]
    now = time.time()

    async def scenario():
        client = await connect(f"/ws/track/?token={athlete['token']}")
        await frame(client)
        answers = []
        for seq in range(1, 4):  # 400 points each: the third is over the 1,000
            batch = [point(now - 400 * seq + k) for k in range(400)]
            await send(client, {"type": "pos", "seq": seq, "points": batch})
        while (answer := await client.receive_output(timeout=5))["type"] != "websocket.close":
            answers.append(answer)
        # Commits go in order: once this one is in, the batches before the close are too.
        await group_commit().submit([])
        return answers, answer

    answers, closed = run(scenario)
    assert closed["code"] == 1013 and re.search(r"(^|\s)retry=\d+(\s|$)", closed["reason"])
    acked = [json.loads(a["text"])["seq"] for a in answers if '"ack"' in a.get("text", "")]
    assert 3 not in acked  # the first two are stored (their acks may not beat the close)
    assert Position.objects.count() == 800


def test_an_athletes_sos_calls_are_limited_over_all_their_sockets(race, settings):
    """Each socket repeated a call without storing it again, but ten sockets stored fifty
    calls in 15 s, each alarming race control and e-mailing the safety contacts."""
    from tracking.models import SosCall

    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "sos.athlete": "3/10m"}
    athlete = race["athletes"][0]

    async def scenario():
        answers = []
        for _ in range(5):  # a new socket each time: its own per-socket bucket is full
            client = await connect(f"/ws/track/?token={athlete['token']}")
            await frame(client)
            await send(client, {"type": "sos", "text": "help"})
            answers.append(await frame(client))
            await client.disconnect()
        return answers

    answers = run(scenario)
    # Past the limit the phone is told race control has the calls (the latest): not an
    # error on the SOS screen, and nothing more stored.
    assert [a["type"] for a in answers] == ["sos_received"] * 5
    assert answers[3]["t"] == answers[4]["t"] == answers[2]["t"]
    assert "id" not in answers[4]
    assert SosCall.objects.count() == 3


@pytest.mark.parametrize(
    "text", ["\u202etxt.exe", "a\u2066b", "esc \x1b[2J", "cr\r\nSubject: spoof", "bell\x07"]
)
def test_posts_and_sos_texts_are_plain_text(race, text):
    """A direction override turned "txt.exe" into "exe.txt" on screens; a carriage return
    forged a line in the safety e-mail."""
    from tracking.models import SosCall

    athlete = race["athletes"][0]

    async def scenario():
        client = await connect(f"/ws/track/?token={athlete['token']}")
        await frame(client)
        await send(client, {"type": "post", "text": text})
        post = await frame(client)
        await send(client, {"type": "sos", "text": text})
        return post, await frame(client)

    post, sos = run(scenario)
    assert (post["code"], sos["code"]) == ("bad_post", "bad_sos")
    assert "plain text" in post["detail"] and "plain text" in sos["detail"]
    assert not Post.objects.exists() and not SosCall.objects.exists()
