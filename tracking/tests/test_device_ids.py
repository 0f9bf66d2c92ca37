"""Device ids Pace issued before they were random are replaced by migration 0004."""

from __future__ import annotations

import importlib

import pytest

from tracking.models import Tracker
from tracking.sim.testrace import load_test_race_create
from tracking.tests.migrating import tracking_at

pytestmark = pytest.mark.django_db(transaction=True)
migration = importlib.import_module("tracking.migrations.0004_tracker_device_id_issued")


def test_it_replaces_the_guessable_ids_pace_issued_and_keeps_the_others():
    athletes = load_test_race_create(athletes=4)["athletes"]
    old = ["sim-3-12", "lt-41-7", "my-sim-3-1-phone", "Pixel8.Anna_~x"]
    with tracking_at("0004_tracker_device_id_issued") as apps:  # plaintext ids then
        then = apps.get_model("tracking", "Tracker").objects
        for athlete, device_id in zip(athletes, old, strict=True):
            then.filter(registration_id=athlete["id"]).update(device_id=device_id)
        migration.replace_guessable_ids(apps, None)
    after = [Tracker.objects.get(registration_id=a["id"]).device_id for a in athletes]
    assert after[2:] == old[2:]
    assert all(new is not None and len(new) == 16 and new not in old for new in after[:2])
