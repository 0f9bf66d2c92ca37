"""A race's results kept in the process's memory per stamp (``results.tables``)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.models import Registration
from events.tests.factories import make_user
from pace.lib.testing import FakeClock
from pace.lib.textfold import fold
from results import tables
from results.models import Result
from results.presenting import TABLE_FIELDS
from results.tables import MAX_AGE_S, RaceTable, Row, race_table, ranks_at_points, results_listing
from results.tests.factories import make_entry, make_read
from results.tests.pages import Computed, make_computed

from .test_pages import add_finishers, bibs, stamp_expires

pytestmark = pytest.mark.django_db


@pytest.fixture
def computed(alpha: Any, alice: Any) -> Computed:
    return make_computed(alpha, publish_by=alice)


def test_the_pages_of_a_kept_race_read_none_of_its_results(
    client: Client, computed: Computed, django_assert_max_num_queries: Any
) -> None:
    add_finishers(computed, 150)
    # The race, its results (read once for the stamp), categories, series, the stamp.
    with django_assert_max_num_queries(5):
        first = client.get(computed.url())
    # Another page, a search, a sort, an athlete: none reads the race's results again.
    with django_assert_max_num_queries(3):  # the race, categories, series
        second = client.get(computed.url(), {"page": "2", "sort": "-bib"})
    with django_assert_max_num_queries(3):
        found = client.get(computed.url(), {"q": "anna annecy"})
    with django_assert_max_num_queries(4):  # the race, the result, points, the trace
        athlete = client.get(computed.url("101"))
    assert len(bibs(first)) == 100 and len(bibs(second)) == 56
    assert bibs(found) == ["101"] and athlete.status_code == 200


def test_a_kept_race_follows_its_results_and_an_organizer_sees_them_at_once(
    client: Client, computed: Computed, alice: Any
) -> None:
    assert bibs(client.get(computed.url()))[:1] == ["102"]
    Registration.objects.filter(pk=computed.entries["Ben"].pk).update(first_name="Benedict")
    organizer = Client()
    organizer.force_login(alice)  # the race's organizer: reads the race afresh
    assert "Benedict Birch" in organizer.get(computed.url()).text
    athlete = Client()
    athlete.force_login(make_user("someone"))  # signed in, not cached, the kept table
    assert "Benedict Birch" not in athlete.get(computed.url()).text
    # A new read moves the stamp: anonymous visitors get it once the stamp is read again.
    read = make_read(computed.points["Finish"], computed.entries["Eve"], 2000)
    from results.live import apply_reads

    apply_reads(race_id=computed.race.pk, reads=[read])
    stamp_expires(computed)
    assert bibs(client.get(computed.url()))[:1] == ["105"]


def test_a_change_the_stamp_does_not_see_reaches_a_kept_table_within_its_age(
    computed: Computed,
) -> None:
    clock = FakeClock()
    race_id = computed.race.pk
    kept = race_table(race_id=race_id, stamp="s1", clock=clock)
    assert race_table(race_id=race_id, stamp="s1", clock=clock) is kept
    Registration.objects.filter(pk=computed.entries["Ben"].pk).update(last_name="Renamed")
    clock.elapsed += MAX_AGE_S - 1
    assert race_table(race_id=race_id, stamp="s1", clock=clock) is kept
    clock.elapsed += 2
    again = race_table(race_id=race_id, stamp="s1", clock=clock)
    last = TABLE_FIELDS.index("registration__last_name")
    assert again is not kept and "Renamed" in {r.shown[last] for r in again.rows}
    assert race_table(race_id=race_id, stamp="s2", clock=clock) is not again  # a new stamp
    # The site-wide page version moved (a category renamed): cached pages and kept
    # tables go together.
    at_1 = race_table(race_id=race_id, stamp="s2", version=1, clock=clock)
    assert race_table(race_id=race_id, stamp="s2", version=1, clock=clock) is at_1
    assert race_table(race_id=race_id, stamp="s2", version=2, clock=clock) is not at_1


def test_a_row_is_sorted_and_found_by_the_fields_of_those_names() -> None:
    """Every shown field distinct: each of what a row is sorted and found by comes from the
    field of its name (two times or two names swapped would sort a list by the wrong one)."""
    shown: dict[str, Any] = {name: f"{name}!" for name in TABLE_FIELDS}
    shown |= {"status": "finished", "chip_time_ms": 3_600_000, "gun_time_ms": 3_605_000}
    row = tables._row((*shown.values(), 7, 3_599_000, "M40", {}))
    assert row.shown == tuple(shown.values()) and row.pk == 7 and row.time_ms == 3_599_000
    assert (row.chip_ms, row.gun_ms, row.status_order) == (3_600_000, 3_605_000, 0)
    assert (row.sex, row.bib, row.category) == ("sex!", "registration__bib!", "M40")
    assert row.first == tables.collation_key("registration__first_name!")
    assert row.last == tables.collation_key("registration__last_name!")
    assert row.words == fold(
        "registration__first_name!\0registration__last_name!\0registration__club!"
    )


def test_names_sort_as_a_database_collates_them() -> None:
    names = ["Zola", "dupont", "Ávila", "De Vries", "Dean", "Østergaard", "O'Brien", "Abel"]
    order = sorted(names, key=tables.collation_key)
    assert order == ["Abel", "Ávila", "Dean", "De Vries", "dupont", "O'Brien", "Østergaard",
                     "Zola"]  # fmt: skip


def test_a_process_keeps_only_the_races_used_last(monkeypatch: Any) -> None:
    read: list[int] = []
    clock = FakeClock()

    def reading(race_id: int, clock: Any = clock, live: bool = False) -> RaceTable:
        read.append(race_id)
        return RaceTable(rows=[], times={}, read_at=clock.monotonic())

    monkeypatch.setattr(tables, "read_race_table", reading)
    for race_id in range(tables.KEPT):
        race_table(race_id=race_id, stamp="s", clock=clock)
    race_table(race_id=0, stamp="s", clock=clock)  # used again: the most recent now
    race_table(race_id=100, stamp="s", clock=clock)  # one more: race 1 goes, not race 0
    assert len(tables._tables) == tables.KEPT
    race_table(race_id=0, stamp="s", clock=clock)
    race_table(race_id=1, stamp="s", clock=clock)
    assert read == [*range(tables.KEPT), 100, 1]


def test_it_ranks_an_athlete_at_each_point_among_everyone_there(computed: Computed) -> None:
    """Competition ranks: those tied share a place; a point not passed has none."""
    table = tables.read_race_table(computed.race.pk)
    points = list(computed.race.timing_points.order_by("order"))
    eve = Result.objects.get(registration=computed.entries["Eve"])
    finn = Result.objects.get(registration=computed.entries["Finn"])
    five_k = computed.points["5 km"]
    assert ranks_at_points(table, result=eve, points=points) == {five_k.pk: 5}
    assert ranks_at_points(table, result=finn, points=points) == {}
    tied = make_entry(computed.race, bib="300")
    make_read(five_k, tied, 1500)
    from results.compute import recompute_race

    recompute_race(race_id=computed.race.pk)
    table = tables.read_race_table(computed.race.pk)
    tied_result = Result.objects.get(registration=tied)
    assert ranks_at_points(table, result=tied_result, points=points)[five_k.pk] == 5


# Property tests over tables built in memory: any query string, page, sort and filter.
names = st.text(st.characters(codec="utf-8"), max_size=12)
rows = st.lists(
    st.builds(
        lambda i, status, t, first, last, club, sex, cat, bib: Row(
            shown=(status, sex, t, t, None, None, None, "", 0, 0, bib, first, last, club, cat),
            pk=i,
            status_order=tables.STATUS_ORDER[status],
            time_ms=t,
            chip_ms=t,
            gun_ms=t,
            sex=sex,
            category=cat,
            bib=bib,
            last=last.casefold(),
            first=first.casefold(),
            words=fold(f"{first}\0{last}\0{club}"),
        ),
        st.integers(1, 10**6),
        st.sampled_from(["finished", "racing", "dnf", "dsq", "dns"]),
        st.none() | st.integers(0, 10**7),
        names,
        names,
        names,
        st.sampled_from(["M", "F", ""]),
        st.sampled_from(["", "M40", "F40"]),
        st.text("0123456789ab", max_size=4),
    ),
    max_size=40,
    unique_by=lambda r: r.pk,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=rows,
    q=st.text(max_size=30),
    page=st.none() | st.text(max_size=5) | st.integers(-3, 9),
    sort=st.sampled_from([*tables.SORTS, *(f"-{k}" for k in tables.SORTS), "x", "-"]),
    sex=st.sampled_from(["", "M", "F"]),
    category=st.sampled_from(["", "M40", "nope"]),
)
def test_any_listing_is_a_sorted_page_of_what_matches(
    rows: list[Row], q: str, page: Any, sort: str, sex: str, category: str
) -> None:
    table = RaceTable(rows=rows, times={})
    per_page = 7
    listing = results_listing(
        table, page=page, per_page=per_page, q=q, category=category, sex=sex, sort=sort
    )
    shown = list(listing)
    assert all(len(r) == len(TABLE_FIELDS) + 1 for r in shown)  # and the progress
    every = []
    for number in listing.paginator.page_range:
        part = results_listing(
            table, page=number, per_page=per_page, q=q, category=category, sex=sex, sort=sort
        )
        every += list(part)
    # The pages partition what matches, in the sort's order (sorted_by: checked below).
    matching = table.sorted_by(sort)
    key = tables.SORTS.get(sort.removeprefix("-"), tables.SORTS["rank"])
    keys = [key(r) for r in matching]
    descending = sort.startswith("-") and sort.removeprefix("-") in tables.SORTS
    assert keys == sorted(keys, reverse=descending)
    assert sorted(r.pk for r in matching) == sorted(r.pk for r in rows)
    matching = [r for r in matching if (not sex or r.sex == sex)]
    matching = [r for r in matching if (not category or r.category == category)]
    text = q.strip()[:100]
    words = [w.replace("\0", "") for w in fold(text).split()[:5]]

    def found(row: Row) -> bool:
        fields = [
            fold(str(row.shown[TABLE_FIELDS.index(f"registration__{name}")]))
            for name in ("first_name", "last_name", "club")
        ]
        return row.bib == text or all(any(w in f for f in fields) for w in words)

    if text:
        matching = [r for r in matching if found(r)]
    assert every == [(*r.shown, None) for r in matching]  # no one reached a point
    assert shown == every[(listing.number - 1) * per_page : listing.number * per_page]
