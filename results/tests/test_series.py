"""Series standings from stored results: athletes across races, recompute, page, access."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from events.models import RaceCategory, Registration
from events.tests.factories import make_event, make_race
from results.athletes import EntryPerson, athlete_keys, normalized_name
from results.compute import recompute_race
from results.models import Series, SeriesRace, SeriesStanding, StageRace
from results.series.recompute import series_recompute
from results.tests.factories import make_entry, make_points, make_read
from results.tests.pages import make_computed

BORN = dt.date(1985, 3, 1)


def timed_race(
    organizer: Any, name: str, finishers: list[tuple[Registration | dict[str, Any], float]]
) -> Any:
    """A past race of ``organizer`` where each entry (or new entry's fields) finished in
    the given seconds; its results computed."""
    race = make_race(make_event(organizer, name, days_ahead=-60), "10K")
    finish = make_points(race)["Finish"]
    for who, seconds in finishers:
        entry = make_entry(race, **who) if isinstance(who, dict) else who
        make_read(finish, entry, seconds)
    recompute_race(race_id=race.pk)
    return race


def person(first: str, last: str = "Martin", **fields: Any) -> dict[str, Any]:
    return {"first_name": first, "last_name": last, "birth_date": BORN, **fields}


def make_series(organizer: Any, races: list[Any], **fields: Any) -> Series:
    fields = {
        "name": "Alpha Cup", "slug": "alpha-cup", "points_table": [10, 6, 4], "is_public": True,
        **fields,
    }  # fmt: skip
    series = Series.objects.create(organizer=organizer, **fields)
    for race in races:
        SeriesRace.objects.create(series=series, race=race)
    return series


def overall(series: Series) -> list[tuple[int, str, int, int]]:
    rows = SeriesStanding.objects.filter(series=series, scope="overall").order_by("rank", "name")
    return [(s.rank, s.name, s.points, s.races) for s in rows]


def test_it_normalizes_names_without_accents_case_or_hyphens() -> None:
    assert normalized_name(" Zoé-Anne", "LÉGER ") == normalized_name("zoe anne", "Leger")


def test_it_matches_a_guest_entry_to_the_one_account_with_that_name_and_birth_date() -> None:
    keys = athlete_keys(
        [
            EntryPerson(1, 7, "Ana", "Lima", BORN),
            EntryPerson(2, None, "ANA", "Lima", BORN),
            EntryPerson(3, None, "Ana", "Lima", dt.date(1990, 1, 1)),
            EntryPerson(4, 8, "Bo", "Ek", BORN),
            EntryPerson(5, 9, "Bo", "Ek", BORN),
            EntryPerson(6, None, "Bo", "Ek", BORN),
        ]
    )
    assert keys[1] == keys[2] == "u7"
    assert keys[3] == "pana lima|1990-01-01"  # another birth date: another athlete
    assert len({keys[4], keys[5], keys[6]}) == 3  # two accounts: the guest joins neither


def test_it_matches_athletes_across_races_of_several_events(alpha: Any, dave: Any) -> None:
    first = timed_race(
        alpha, "Spring 10K", [(person("Dave", user=dave), 2000), (person("Eve"), 2100)]
    )
    second = timed_race(
        alpha, "Autumn 10K", [(person("Eve"), 1900), (person("DAVE", "martin"), 1950)]
    )
    series = make_series(alpha, [first, second])
    series_recompute(series_id=series.pk)
    # Dave entered the second race as a guest: his name and birth date find his account.
    assert overall(series) == [(1, "Eve Martin", 16, 2), (2, "DAVE martin", 16, 2)]


def test_it_recomputes_the_standings_when_a_counted_race_changes(
    alpha: Any, django_capture_on_commit_callbacks: Any
) -> None:
    race = timed_race(alpha, "Spring 10K", [(person("Ann"), 2000), (person("Bea"), 2100)])
    series = make_series(alpha, [race])
    with django_capture_on_commit_callbacks(execute=True):
        recompute_race(race_id=race.pk)
    assert overall(series) == [(1, "Ann Martin", 10, 1), (2, "Bea Martin", 6, 1)]

    bea = Registration.objects.get(race=race, first_name="Bea")
    with django_capture_on_commit_callbacks(execute=True):
        make_read(race.timing_points.get(name="Finish"), bea, 1900)  # an earlier passing
        recompute_race(race_id=race.pk)
    assert overall(series) == [(1, "Bea Martin", 10, 1), (2, "Ann Martin", 6, 1)]


def test_it_leaves_series_of_other_races_alone(
    alpha: Any, django_capture_on_commit_callbacks: Any
) -> None:
    counted = timed_race(alpha, "Spring 10K", [(person("Ann"), 2000)])
    other = timed_race(alpha, "Fun Run", [(person("Bea"), 2000)])
    series = make_series(alpha, [counted])
    with django_capture_on_commit_callbacks(execute=True):
        recompute_race(race_id=other.pk)
    assert overall(series) == []


def test_it_scores_categories_matched_by_code_across_races(alpha: Any) -> None:
    races = [
        timed_race(alpha, "Spring 10K", [(person("Ann"), 2000), (person("Bob", sex="M"), 1900)]),
        timed_race(alpha, "Autumn 10K", [(person("Ann"), 2000), (person("Bob", sex="M"), 2100)]),
    ]
    for race in races:
        RaceCategory.objects.create(race=race, code="W35", name="Women 35+", sex="F", min_age=35)
        recompute_race(race_id=race.pk)  # Ann is 35+: in W35 by her age on race day
    series = make_series(alpha, races)
    series_recompute(series_id=series.pk)
    rows = SeriesStanding.objects.filter(series=series, scope="cat:W35")
    assert [(s.name, s.points) for s in rows] == [("Ann Martin", 20)]  # 1st of W35 twice
    assert overall(series) == [(1, "Ann Martin", 16, 2), (2, "Bob Martin", 16, 2)]


def test_it_refuses_a_race_of_another_organizer(alpha: Any, bravo: Any) -> None:
    series = make_series(alpha, [])
    theirs = make_race(make_event(bravo, "Bravo 10K"), "10K")
    with pytest.raises(ValidationError):
        SeriesRace(series=series, race=theirs).full_clean()


def test_it_refuses_unknown_tie_breaks_and_bad_points(alpha: Any) -> None:
    with pytest.raises(ValidationError):
        Series(organizer=alpha, name="X", slug="x", tie_breaks=["coin_toss"]).full_clean()
    with pytest.raises(ValidationError):
        Series(organizer=alpha, name="X", slug="x", points_table=[10, -1]).full_clean()


@pytest.fixture
def cup(alpha: Any) -> Series:
    races = [
        timed_race(
            alpha,
            f"Race {n}",
            [(person(f"Runner{i}", club="<b>Club</b>"), 2000 + i * 7 + n) for i in range(12)],
        )
        for n in range(3)
    ]
    make_entry(races[0], **person("<script>alert(1)</script>"))
    make_read(
        races[0].timing_points.get(name="Finish"),
        Registration.objects.get(first_name__startswith="<script"),
        1000,
    )
    recompute_race(race_id=races[0].pk)
    series = make_series(alpha, races, best_of=2)
    series_recompute(series_id=series.pk)
    return series


def test_it_shows_the_standings_with_a_fixed_number_of_queries(
    client: Any, cup: Series, django_assert_num_queries: Any
) -> None:
    url = reverse("results:series", args=[cup.slug])
    with django_assert_num_queries(6):  # series, races, scopes, categories, count, rows
        response = client.get(url)
    assert response.status_code == 200
    body = response.content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body and "<script>alert" not in body
    assert "&lt;b&gt;Club&lt;/b&gt;" in body
    assert body.count('class="num race-col dropped"') > 0  # best 2 of 3: one struck out
    with django_assert_num_queries(0):
        assert client.get(url).content == response.content  # from the page cache
    assert client.get(url, {"scope": "sex:F"}).status_code == 200
    assert client.get(url, {"scope": "nonsense"}).status_code == 200  # falls back to overall
    assert client.get(url, {"page": "x"}).status_code == 200


def test_it_shows_a_private_series_to_its_organizer_only(
    client: Any, cup: Series, bob: Any, charlie: Any
) -> None:
    Series.objects.filter(pk=cup.pk).update(is_public=False)
    url = reverse("results:series", args=[cup.slug])
    assert client.get(url).status_code == 404
    client.force_login(charlie)
    assert client.get(url).status_code == 404
    client.force_login(bob)
    assert client.get(url).status_code == 200


def test_it_lists_series_in_the_admin_of_their_organizer_only(
    client: Any, cup: Series, bob: Any, charlie: Any
) -> None:
    url = reverse("admin:results_series_changelist")
    client.force_login(charlie)
    assert "Alpha Cup" not in client.get(url).content.decode()
    assert client.get(reverse("admin:results_series_change", args=[cup.pk])).status_code in (
        302,
        403,
        404,
    )
    client.force_login(bob)
    assert "Alpha Cup" in client.get(url).content.decode()


def test_it_recomputes_past_a_tie_break_it_does_not_know(alpha: Any) -> None:
    race = timed_race(alpha, "Spring 10K", [(person("Ann"), 2000), (person("Bea"), 2100)])
    series = make_series(alpha, [race], tie_breaks=["coin_toss", "countback"])  # not cleaned
    assert series_recompute(series_id=series.pk) > 0
    assert overall(series) == [(1, "Ann Martin", 10, 1), (2, "Bea Martin", 6, 1)]


def test_it_lists_public_series_and_stage_races_in_the_sitemap(client: Any, cup: Series) -> None:
    hidden = make_series(cup.organizer, [], slug="hidden-cup", is_public=False)
    StageRace.objects.create(event=make_event(cup.organizer, "Tour Alpha", sport="cycling"))
    body = client.get("/sitemap.xml").content.decode()
    assert reverse("results:series", args=[cup.slug]) in body
    assert reverse("results:series", args=[hidden.slug]) not in body
    assert "/stage-races/tour-alpha/" in body


def test_it_pages_long_standings(client: Any, alpha: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr("results.series.selectors.PER_PAGE", 5)
    race = timed_race(alpha, "Spring 10K", [(person(f"R{n:02}"), 2000 + n) for n in range(12)])
    series_recompute(series_id=make_series(alpha, [race]).pk)
    url = reverse("results:series", args=["alpha-cup"])
    last = client.get(url, {"page": "3"}).content.decode()
    assert "R10 Martin" in last and "R11 Martin" in last and "R09 Martin" not in last
    assert "Page 3 of 3" in last


def test_an_event_slugged_series_keeps_its_results_page(alpha: Any, client: Client) -> None:
    """Standings live at /series/SLUG/, so they never take a race's /results/EVENT/RACE/."""
    computed = make_computed(alpha, "Series")
    assert computed.race.event.slug == "series"
    response = client.get(computed.url())
    assert response.status_code == 200
    assert "Anna" in response.content.decode()
