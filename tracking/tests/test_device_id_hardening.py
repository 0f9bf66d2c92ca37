"""Device ids at ``/osmand/``: one rule, weak ids never match, replaced ids stop at once,
and unknown-device floods are cheap.

The review that asked for these found: ids linked before the rule (``123456``) still
took fixes; an id replaced on the tracker page kept working for 30 s in each process;
a flood of unknown ids cost a query each, emptied every process's device cache and
wrote a WARNING per request; each fix took four trips off the event loop.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib
import logging
import threading
import time
from typing import Any

import pytest
import time_machine
from asgiref.sync import SyncToAsync
from channels.layers import get_channel_layer
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pace.lib.testing import wait_until
from tracking.admin import TrackerForm
from tracking.ingest import devices
from tracking.ingest.athletes import athlete_for_device
from tracking.ingest.osmand import request_device_id
from tracking.ingest.trackers import (
    TrackerError,
    clean_device_id,
    tracker_hand_over,
    tracker_issue_device_id,
    tracker_link_device,
    tracker_rotate_token,
    trackers_revoke,
)
from tracking.models import Tracker, device_columns, secret_digest
from tracking.sim.testrace import load_test_race_create
from tracking.tests.migrating import tracking_at

pytestmark = pytest.mark.django_db(transaction=True)
migration = importlib.import_module("tracking.migrations.0005_replace_weak_device_ids")
WEAK = ["123456", "48241179", "aaaaaaaa", "12121212", "short", "my phone 42"]
UNKNOWN = "AbSent-0123456789xyz"


@pytest.fixture
def athletes() -> list[dict[str, Any]]:
    return load_test_race_create(athletes=3)["athletes"]


def _fix(client: Any, device_id: str, *, ip: str = "127.0.0.1") -> Any:
    params = {"id": device_id, "lat": 45.9, "lon": 6.1, "timestamp": int(time.time())}
    return client.get("/osmand/", params, REMOTE_ADDR=ip)


def test_it_replaces_every_stored_id_that_breaks_the_rule(athletes):
    old = ["123456", "Pixel8.Anna_~x", "aaaaaaaa"]
    with tracking_at("0005_replace_weak_device_ids") as apps:  # plaintext ids then
        then = apps.get_model("tracking", "Tracker").objects
        for athlete, device_id in zip(athletes, old, strict=True):
            then.filter(registration_id=athlete["id"]).update(device_id=device_id)
        migration.replace_weak_ids(apps, None)
    after = [Tracker.objects.get(registration_id=a["id"]).device_id for a in athletes]
    assert after[1] == "Pixel8.Anna_~x"
    for new in (after[0], after[2]):
        assert new is not None and new not in old and clean_device_id(new) == new and len(new) == 16


@pytest.mark.parametrize("weak", WEAK)
def test_it_never_takes_a_fix_from_a_stored_id_that_breaks_the_rule(client, athletes, weak):
    Tracker.objects.filter(registration_id=athletes[0]["id"]).update(**device_columns(weak))
    assert athlete_for_device(weak) is None
    assert _fix(client, weak).content == b"unknown device\n"


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(typed=st.text(max_size=110) | st.from_regex(r"[A-Za-z0-9._~-]{1,14}", fullmatch=True))
def test_it_holds_device_ids_to_one_rule_everywhere(athletes, typed):
    """The ids the tracker page and the admin link are the ids the ingest matches."""
    try:
        linkable = clean_device_id(typed) == typed
    except TrackerError:
        linkable = False
    if linkable:
        assert request_device_id(typed) == typed  # parsing refuses no linkable id
        assert TrackerForm(data={"device_id": typed}).is_valid()
    if 0 < len(typed) <= 100 and typed.isprintable():  # what the column may hold
        Tracker.objects.filter(registration_id=athletes[0]["id"]).update(**device_columns(typed))
        assert (athlete_for_device(typed) is not None) == linkable


@pytest.mark.parametrize("change", ["issue", "relink", "unlink", "revoke", "hand_over"])
def test_it_stops_taking_fixes_from_a_replaced_id_at_once(client, athletes, change):
    tracker = Tracker.objects.get(registration_id=athletes[0]["id"])
    old = tracker.device_id
    assert old is not None
    assert _fix(client, old).status_code == 200  # now remembered for 30 s
    if change == "issue":
        tracker_issue_device_id(tracker=tracker)
    elif change == "relink":
        tracker_link_device(tracker=tracker, device_id="Pixel8.Anna_~x")
    elif change == "unlink":
        tracker_link_device(tracker=tracker, device_id="")
    elif change == "revoke":
        trackers_revoke(trackers=Tracker.objects.filter(pk=tracker.pk))
    else:
        with transaction.atomic():  # as the transfer calls it
            tracker_hand_over(registration_id=tracker.registration_id)
    assert _fix(client, old).status_code == 404  # no clock moved
    tracker.refresh_from_db()
    if tracker.device_id and change != "revoke":
        assert _fix(client, tracker.device_id).status_code == 200


def test_it_takes_fixes_from_a_new_id_looked_up_as_unknown_just_before(client, athletes):
    tracker = Tracker.objects.get(registration_id=athletes[0]["id"])
    assert _fix(client, "Pixel8.Anna_~x").status_code == 404  # remembered as unknown
    tracker_link_device(tracker=tracker, device_id="Pixel8.Anna_~x")
    assert _fix(client, "Pixel8.Anna_~x").status_code == 200
    tracker_rotate_token(tracker=tracker)  # a new token keeps the device
    assert _fix(client, "Pixel8.Anna_~x").status_code == 200


def test_it_tells_every_process_to_forget_a_replaced_id(athletes):
    """Another process hears the change on the channel layer (Redis in production)."""
    device_id = athletes[0]["device_id"]

    assert devices.athlete_for_device_cached(device_id) is not None
    assert devices.remembered_device(device_id)[0]

    async def other_process() -> bool:
        await devices.devices_listen()
        message = {"type": "devices.forget", "digests": [secret_digest(device_id)]}
        await get_channel_layer().group_send(devices.DEVICES_GROUP, message)
        # The message's trip through the layer, not a clock.
        await wait_until(lambda: not devices.remembered_device(device_id)[0], timeout=5)
        return True

    assert asyncio.run(other_process())


def test_it_refuses_unknown_devices_from_a_flooding_address_without_a_query(
    client, athletes, settings, django_assert_num_queries
):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "osmand.unknown.ip": "3/m"}
    known, later = athletes[0]["device_id"], athletes[1]["device_id"]
    start = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    with time_machine.travel(start, tick=False) as clock:
        assert [_fix(client, known).status_code for _ in range(6)] == [200] * 6  # not counted
        answers = [_fix(client, f"{UNKNOWN}{n}").status_code for n in range(4)]
        assert answers == [404, 404, 404, 429]
        with django_assert_num_queries(0):
            flood = [_fix(client, f"{UNKNOWN}x{n}") for n in range(20)]
            assert _fix(client, known).status_code == 200  # remembered: served
        assert {r.status_code for r in flood} == {429}
        assert "osmand.unknown.ip" in flood[0].json()["error"]
        assert int(flood[0]["Retry-After"]) >= 1
        assert _fix(client, later).status_code == 429  # not remembered: no lookup either
        assert _fix(client, f"{UNKNOWN}y", ip="198.51.100.7").status_code == 404  # other IP
        clock.shift(dt.timedelta(seconds=61))
        assert _fix(client, later).status_code == 200


def test_it_keeps_real_phones_remembered_through_a_flood_of_unknown_ids(
    athletes, monkeypatch, django_assert_num_queries
):
    monkeypatch.setattr(devices, "DEVICE_CACHE_SIZE", 10)
    phone = athletes[0]["device_id"]
    assert devices.athlete_for_device_cached(phone) is not None
    for n in range(60):
        devices.athlete_for_device_cached(f"{UNKNOWN}{n}")
        if n % 5 == 0:  # the phone sends a fix every few seconds
            with django_assert_num_queries(0):
                assert devices.athlete_for_device_cached(phone) is not None
    assert len(devices._devices) == 10


def test_it_logs_unknown_devices_below_warning(client, athletes, caplog):
    with caplog.at_level(logging.DEBUG):
        assert _fix(client, UNKNOWN).status_code == 404
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("404" in r.getMessage() and r.levelno == logging.INFO for r in caplog.records)


def test_it_counts_a_fix_against_both_limits_in_one_trip_off_the_event_loop(
    client, athletes, monkeypatch
):
    device_id = athletes[0]["device_id"]
    assert _fix(client, device_id).status_code == 200
    hops: list[Any] = []
    real_call = SyncToAsync.__call__

    async def counted(self: SyncToAsync, *args: Any, **kwargs: Any) -> Any:
        hops.append(self.func)
        return await real_call(self, *args, **kwargs)

    monkeypatch.setattr(SyncToAsync, "__call__", counted)
    assert _fix(client, device_id).status_code == 200
    assert len(hops) == 1


def test_a_listeners_loop_ends_even_when_its_layer_never_finishes_closing(monkeypatch):
    """A request's own loop (the test client's, an ``async_to_sync`` call's) cancels its
    listener when it ends; the listener closes its own layer, bounded in time, so the
    loop's end, and the request, never wait on it for good."""
    monkeypatch.setattr(devices, "CLOSE_POOLS_SECONDS", 0.05)
    closing = []

    class StuckLayer:
        async def receive(self, channel: str) -> dict[str, Any]:
            await asyncio.Event().wait()  # nothing ever comes
            return {}

        async def group_add(self, group: str, channel: str) -> None:
            return None

        async def close_pools(self) -> None:
            closing.append(True)
            await asyncio.Event().wait()  # a cleanup that never ends

    listeners = []

    async def request() -> None:
        listeners.append(asyncio.ensure_future(devices._listen(StuckLayer(), "specific.x")))
        await asyncio.sleep(0)

    done = threading.Event()

    def run_loop() -> None:
        asyncio.run(request())  # cancels the listener as it ends
        done.set()

    threading.Thread(target=run_loop, daemon=True).start()
    assert done.wait(timeout=10), "the loop's end waited on the layer's close"
    assert closing == [True] and listeners[0].cancelled()


def test_a_request_on_a_loop_of_its_own_leaves_no_listener_behind(client, athletes):
    """The test client runs the async view on a loop that ends with the request (as a
    WSGI server would): no device listener is started there, for its loop to cancel."""
    devices._listeners.clear()
    assert _fix(client, athletes[0]["device_id"]).status_code == 200
    assert not devices._listeners
