"""A race in progress: its provisional results show how far each starter got (GPS
split crossings, tracking's fixes), not a table of dashes."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from events.models import Race, Registration
from events.registration import category_for
from events.tests.factories import make_age_categories, make_course, make_event, make_race
from results.tests.factories import at, make_entry
from tracking.live.engine import Crossing
from tracking.live.ticker import store_crossings
from tracking.models import Position

pytestmark = pytest.mark.django_db

ROW = re.compile(r'<tr class="status-(\w+)" data-bib="(\w+)">(.*?)</tr>', re.S)


def _live_race(alpha: Any) -> Race:
    """A 10K on a course with a split at 5 km, 22 minutes after its gun."""
    race = make_race(make_event(alpha, "Alpha Live", days_ahead=0), course=make_course(alpha))
    race.start_time = timezone.now() - dt.timedelta(minutes=22)
    race.time_limit = dt.timedelta(hours=2)
    race.save(update_fields=["start_time", "time_limit"])
    make_age_categories(race)
    return race


def _heard(race: Race, entry: Registration, seconds: float) -> None:
    """A fix from the athlete's tracker ``seconds`` after the gun."""
    Position.objects.create(
        race=race, registration=entry, t=at(race, seconds), lat=45.0, lon=6.0,
        received_at=timezone.now(),
    )  # fmt: skip


def _rows(client: Client, race: Race) -> list[tuple[str, str, str]]:
    page = client.get(f"/results/{race.event.slug}/{race.slug}/")
    assert page.status_code == 200
    return ROW.findall(page.content.decode())


def test_it_shows_how_far_each_starter_got_while_the_race_runs(
    client: Client, alpha: Any, django_capture_on_commit_callbacks: Any
) -> None:
    race = _live_race(alpha)
    # An entry gets its category when made (``category_for``), as the entry form gives it.
    ann = make_entry(
        race, bib="1", sex="F", birth_date=dt.date(1990, 1, 1),
        category=category_for(race=race, birth_date=dt.date(1990, 1, 1), sex="F"),
    )  # fmt: skip
    bea = make_entry(race, bib="2", sex="F", birth_date=dt.date(1975, 1, 1))  # women 40+
    cas = make_entry(race, bib="3", sex="F", birth_date=dt.date(1992, 1, 1))  # women senior
    dan = make_entry(race, bib="4", sex="M", birth_date=dt.date(1995, 1, 1))  # started only
    make_entry(race, bib="5", sex="M")  # entered, never heard from: not listed
    for entry in (ann, bea, cas, dan):
        _heard(race, entry, 60)
    crossings = [
        Crossing(cas.pk, "5 km", 5000, at(race, 1302).timestamp(), 2),
        Crossing(bea.pk, "5 km", 5000, at(race, 1301).timestamp(), 1),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        store_crossings(race_id=race.pk, crossings=crossings)

    rows = _rows(client, race)
    # Furthest point first, then the time there; those not at a point yet after them.
    assert [(status, bib) for status, bib, _ in rows] == [
        ("racing", "2"), ("racing", "3"), ("racing", "1"), ("racing", "4"),
    ]  # fmt: skip
    bea_row, cas_row, ann_row, _ = (cells for _, _, cells in rows)
    assert "5 km</span> 0:21:41" in bea_row and "4:20 /km" in bea_row
    assert 'title="Place at 5 km">1<' in bea_row
    assert "Women 40+ <span" in bea_row and "(1)" in bea_row  # first of her category
    assert "5 km</span> 0:21:42" in cas_row and 'title="Place at 5 km">2<' in cas_row
    assert 'class="col-cat">Women senior <span class="muted">(1)</span>' in cas_row
    assert 'class="col-cat">Women senior</td>' in ann_row  # racing, no point passed yet
    assert 'col-pace">\u2013<' in ann_row


def test_a_finisher_comes_before_those_still_racing(
    client: Client, alpha: Any, django_capture_on_commit_callbacks: Any
) -> None:
    race = _live_race(alpha)
    first, second = make_entry(race, bib="7"), make_entry(race, bib="8")
    crossings = [
        Crossing(second.pk, "5 km", 5000, at(race, 900).timestamp(), 1),
        Crossing(first.pk, "5 km", 5000, at(race, 901).timestamp(), 2),
        Crossing(first.pk, "Finish", 9871, at(race, 1300).timestamp(), 1),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        store_crossings(race_id=race.pk, crossings=crossings)
    (finisher, finisher_bib, cells), (racing, racing_bib, _) = _rows(client, race)
    assert (finisher, finisher_bib, racing, racing_bib) == ("finished", "7", "racing", "8")
    assert "0:21:40" in cells and "split-at" not in cells


def test_a_race_over_lists_no_one_from_tracking_alone(client: Client, alpha: Any) -> None:
    race = _live_race(alpha)
    timed, tracked = make_entry(race, bib="1"), make_entry(race, bib="2")
    from results.live import apply_reads
    from results.points import ensure_timing_points
    from results.tests.factories import make_read

    finish = next(p for p in ensure_timing_points(race=race) if p.name == "Finish")
    apply_reads(race_id=race.pk, reads=[make_read(finish, timed, 1300)])
    _heard(race, tracked, 60)
    race.start_time = timezone.now() - dt.timedelta(days=2)  # long over: not live
    race.save(update_fields=["start_time"])
    assert [bib for _, bib, _ in _rows(client, race)] == ["1"]
