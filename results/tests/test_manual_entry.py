"""Manual entry at the line: a bib and Enter stamps the server's clock; a typed time; undo."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import time_machine
from django.test import Client

from results.models import Result, TimingRead
from results.tests.factories import make_read
from results.tests.timing_fixtures import Timed, make_timed


@pytest.fixture
def timed(alpha: Any) -> Timed:
    return make_timed(alpha)


@pytest.fixture
def desk(client: Client, alice: Any, timed: Timed) -> Any:
    client.force_login(alice)
    url = timed.url("manual", timed.points["Finish"].pk)

    def post(body: dict[str, Any]) -> Any:
        return client.post(url, json.dumps(body), content_type="application/json")

    post.url = url  # type: ignore[attr-defined]
    return post


def test_the_page_is_keyboard_first(client: Client, desk: Any) -> None:
    page = client.get(desk.url).content.decode()
    assert 'id="manual-bib" name="bib" inputmode="numeric" autofocus' in page
    assert "results/manual_entry.js" in page
    assert "cdn" not in page.lower()


def _race_started(timed: Timed, ago: dt.timedelta) -> dt.datetime:
    """Start the race ``ago`` before now (the session would not survive a month's jump)."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=250_999) + dt.timedelta(seconds=5)
    timed.race.start_time = (now - ago).replace(microsecond=0)
    timed.race.save(update_fields=["start_time"])
    return now


def test_a_bib_and_enter_stamps_the_servers_clock(desk: Any, timed: Timed) -> None:
    instant = _race_started(timed, dt.timedelta(minutes=41))
    with time_machine.travel(instant, tick=False):
        response = desk({"bib": "101", "id": "c1"})
    assert response.status_code == 200
    read = TimingRead.objects.get()
    assert read.time == instant.replace(microsecond=250_000)
    assert (read.source, read.registration, read.point) == (
        "manual",
        timed.anna,
        timed.points["Finish"],
    )
    assert response.json()["reads"][0] == {
        "pk": read.pk, "bib": "101", "athlete": "Anna Alder",
        "time": f"{instant:%H:%M:%S}.250", "source": "Manual entry", "undo": True,
    }  # fmt: skip


def test_the_read_goes_on_to_the_results(desk: Any, timed: Timed) -> None:
    instant = _race_started(timed, dt.timedelta(minutes=41))
    make_read(timed.points["Start"], timed.anna, 0)
    with time_machine.travel(instant, tick=False):
        desk({"bib": "101"})
    result = Result.objects.get(registration=timed.anna)
    assert result.status == Result.Status.FINISHED
    assert result.time_ms == 41 * 60 * 1000 + 250
    desk({"undo": TimingRead.objects.get(source="manual").pk})
    result.refresh_from_db()
    assert result.status != Result.Status.FINISHED and result.time_ms is None


def test_a_typed_time_is_the_venues_on_the_race_day(desk: Any, timed: Timed) -> None:
    assert desk({"bib": "102", "time": "09:05:03.5"}).status_code == 200
    assert desk({"bib": "101", "time": "9:07"}).status_code == 200
    times = sorted(r.time.isoformat() for r in TimingRead.objects.all())
    assert times == [f"{timed.day}T09:05:03.500000+00:00", f"{timed.day}T09:07:00+00:00"]


def test_a_retry_with_the_same_id_stores_one_read(desk: Any) -> None:
    desk({"bib": "101", "id": "same"})
    assert desk({"bib": "101", "id": "same"}).status_code == 200
    assert TimingRead.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"bib": ""}, "Bib: an empty cell is not a bib"),
        ({"bib": "=1+1"}, "Bib: starts with '=': a spreadsheet formula, not a bib."),
        ({"bib": "101", "time": "25:00"}, "Time: 25:00:00 is not a time of day."),
        ({"bib": "101", "time": "soon"}, "Time: 'soon' is not a time (HH:MM:SS.fff)."),
    ],
)
def test_a_mistyped_entry_says_why(desk: Any, body: dict[str, Any], error: str) -> None:
    response = desk(body)
    assert response.status_code == 400
    assert response.json()["error"].startswith(error)
    assert not TimingRead.objects.exists()


def test_undo_takes_back_a_manual_read_of_this_point_only(desk: Any, timed: Timed) -> None:
    desk({"bib": "101"})
    manual = TimingRead.objects.get()
    chip = make_read(timed.points["Finish"], timed.ben, 2400)
    elsewhere = make_read(timed.points["5 km"], timed.anna, 1200, source="manual")
    assert desk({"undo": chip.pk}).status_code == 400
    assert desk({"undo": elsewhere.pk}).status_code == 400
    assert desk({"undo": "1"}).status_code == 400
    response = desk({"undo": manual.pk})
    assert response.status_code == 200
    assert [r["pk"] for r in response.json()["reads"]] == [chip.pk]
    assert set(TimingRead.objects.values_list("pk", flat=True)) == {chip.pk, elsewhere.pk}


def test_another_organizer_cannot_enter_or_undo(
    client: Client, charlie: Any, bravo: Any, timed: Timed
) -> None:
    read = make_read(timed.points["Finish"], timed.anna, 2400, source="manual")
    client.force_login(charlie)
    url = timed.url("manual", timed.points["Finish"].pk)
    assert client.get(url).status_code == 404
    for body in ({"bib": "101"}, {"undo": read.pk}):
        response = client.post(url, json.dumps(body), content_type="application/json")
        assert response.status_code == 404
    assert list(TimingRead.objects.all()) == [read]


def test_a_point_of_another_race_is_a_404(
    client: Client, alice: Any, timed: Timed, alpha: Any
) -> None:
    other = make_timed(alpha, "Alpha Night Run")
    client.force_login(alice)
    assert client.get(timed.url("manual", other.points["Finish"].pk)).status_code == 404
