"""The race simulator drives real clients against a real server, and its pure parts."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest

from events.tests.factories import make_course, make_event, make_race
from tracking.models import Tracker
from tracking.sim.roster import SimAthlete, sim_trackers_ensure
from tracking.sim.runners import Course, Runner
from tracking.sim.testrace import load_test_race_create
from tracking.tests.serving import daphne_server


def test_it_walks_the_course_by_official_distance():
    course = Course([(45.0, 6.0), (45.0, 6.01), (45.0, 6.02)], official=2000)
    assert course.at(0) == (45.0, 6.0)
    assert course.at(5000) == pytest.approx((45.0, 6.02))
    # Half the official distance is half the drawn line, however long that is.
    assert course.at(1000) == pytest.approx((45.0, 6.01))


def test_it_moves_a_runner_faster_with_more_race_time():
    course = Course([(45.0, 6.0), (45.0, 6.2)], official=10_000)
    athlete = SimAthlete(1, "1", "A B", "token", None)
    runner = Runner.make(athlete, course, "running", random.Random(3))
    runner.dnf_at = runner.stop_at = None
    runner.advance(0.0, 600)
    assert 600 * runner.speed * 0.85 < runner.distance < 600 * runner.speed * 1.1
    runner.advance(0.0, 10_000)
    assert runner.distance == 10_000 and runner.finished_at is not None


@pytest.mark.django_db
def test_it_gives_trackers_to_athletes_without_one_and_says_how_many_exist(alpha):
    race = make_race(make_event(alpha, "Sim Run"), course=make_course(alpha))
    race_json = load_test_race_create(athletes=1)  # another race, whose athlete has a tracker
    from events.models import Registration

    template = Registration.objects.get(pk=race_json["athletes"][0]["id"])
    for n in range(3):
        template.pk, template.race, template.event = None, race, race.event
        template.bib, template.manage_token = str(100 + n), f"sim-test-{n}"
        template.save()
    _, athletes, available = sim_trackers_ensure(race_id=race.pk, athletes=10)
    assert available == 3 and len(athletes) == 3
    ids = {a.device_id for a in athletes}
    assert len(ids) == 3 and all(
        d is not None and len(d) >= 16 and str(race.pk) not in d.split("-") for d in ids
    )
    again = sim_trackers_ensure(race_id=race.pk, athletes=10)[1]
    assert [a.token for a in again] == [a.token for a in athletes]
    assert Tracker.objects.filter(registration__race=race).count() == 3


def test_it_drives_a_race_over_websocket_and_osmand_against_daphne(tmp_path: Path):
    with daphne_server(tmp_path) as server:
        race = server.test_race(athletes=5)
        sim = server.simulate(
            race["race_id"], "--athletes", "5", "--speed", "30", "--duration", "6",
            "--osmand-share", "0.4", "--seed", "2",
        )  # fmt: skip
        output, _ = sim.communicate(timeout=40)
        assert sim.returncode == 0, output
        assert server.db is not None  # daphne_server's default: a SQLite file
        with sqlite3.connect(server.db) as db:
            rows = dict(
                db.execute(
                    "SELECT registration_id, COUNT(*) FROM tracking_position "
                    "WHERE race_id = ? GROUP BY registration_id",
                    (race["race_id"],),
                ).fetchall()
            )
            seqs = {s for (s,) in db.execute("SELECT DISTINCT seq FROM tracking_position")}
    assert set(rows) == {a["id"] for a in race["athletes"]}, output
    assert all(count >= 1 for count in rows.values())
    assert 0 in seqs and max(seqs) >= 1  # OsmAnd fixes (seq 0) and WebSocket batches
    assert "acked over WebSocket" in output
