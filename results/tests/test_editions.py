"""Recurring events: editions linked by their organizer, compared year on year on a race's
statistics and in the organizer's participation dashboard."""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from events.models import Event
from events.tests.factories import make_event, make_race
from pace.lib.testing import cache_clear_own
from results.editions import edition_chain, participation, same_race, year_on_year
from results.tests.pages import Computed, make_computed


def _link(event: Event, previous: Event) -> None:
    event.previous_edition = previous
    event.full_clean()
    event.save(update_fields=["previous_edition"])


@pytest.fixture
def editions(alpha: Any, alice: Any) -> list[Computed]:
    """Three yearly editions of Alpha 10K, the oldest first, each official."""
    made = [
        make_computed(alpha, f"Alpha 10K {year}", publish_by=alice, days_ahead=-days)
        for year, days in ((2024, 740), (2025, 375), (2026, 10))
    ]
    for older, newer in itertools.pairwise(made):
        _link(newer.race.event, older.race.event)
    cache_clear_own()
    return made


def test_an_edition_follows_an_earlier_event_of_the_same_organizer(alpha: Any, bravo: Any) -> None:
    first = make_event(alpha, "Alpha Run 2025", days_ahead=-300)
    second = make_event(alpha, "Alpha Run 2026", days_ahead=60)
    other = make_event(bravo, "Bravo Run 2025", days_ahead=-300)

    second.previous_edition = other
    with pytest.raises(ValidationError, match="same organizer"):
        second.full_clean()
    first.previous_edition = second
    with pytest.raises(ValidationError, match="start before"):
        first.full_clean()
    first.previous_edition = None
    second.previous_edition = second
    with pytest.raises(ValidationError, match="its own previous edition"):
        second.full_clean()
    second.previous_edition = first
    second.full_clean()
    second.save()
    # Dates changed afterwards cannot close a loop either.
    Event.objects.filter(pk=first.pk).update(start_date=second.start_date, end_date=second.end_date)
    first.refresh_from_db()
    first.start_date = first.end_date = second.start_date.replace(year=second.start_date.year + 1)
    first.previous_edition = second
    with pytest.raises(ValidationError, match="loop"):
        first.full_clean()


def test_the_chain_is_found_from_any_edition_and_races_match_by_slug_or_distance(
    alpha: Any,
) -> None:
    a = make_event(alpha, "Run 2024", days_ahead=-700)
    b = make_event(alpha, "Run 2025", days_ahead=-350)
    c = make_event(alpha, "Run 2026", days_ahead=20)
    make_event(alpha, "Unrelated", days_ahead=-30)
    Event.objects.filter(pk=b.pk).update(previous_edition=a)
    Event.objects.filter(pk=c.pk).update(previous_edition=b)

    for event in (a, b, c):
        assert [e.pk for e in edition_chain(event)] == [a.pk, b.pk, c.pk]
    ten = make_race(c, "10K")
    renamed = make_race(a, "10 km", distance_m=10_020)
    half = make_race(a, "Half", distance_m=21_097)
    assert same_race(ten, [half, renamed]) == renamed
    assert same_race(make_race(c, "Half"), [renamed, half]) == half
    assert same_race(make_race(c, "5K", distance_m=5000), [renamed, half]) is None


def test_statistics_compare_the_public_editions_year_on_year(
    client: Client, editions: list[Computed], alice: Any
) -> None:
    # A draft edition in between is left out of the public page.
    draft = make_computed(editions[0].race.event.organizer, "Alpha 10K draft", days_ahead=-500)
    Event.objects.filter(pk=draft.race.event_id).update(status=Event.Status.DRAFT)
    current = editions[-1]
    yoy = year_on_year(current.race, current.race.event)
    assert yoy is not None
    assert [e.race.pk for e in yoy.editions] == [c.race.pk for c in editions]
    first = yoy.editions[0]
    # make_computed's field: 4 finishers (one of them 2,450 s), a DNF, a DNS.
    assert (first.starters, first.finishers, first.dnf) == (5, 4, 1)
    assert first.dnf_rate == pytest.approx(20.0)
    assert first.winning_ms == 2_300_000
    assert yoy.editions[-1].current and not first.current

    response = client.get(current.url("statistics"))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="year-on-year"' in html
    table = html.split('id="year-on-year"')[1].split("</table>")[0]
    labels = re.findall(r'<td class="edition">(.*?)</td>', table, re.S)
    assert len(labels) == 3
    assert "(this race)" in labels[-1]
    assert f"/results/{editions[0].race.event.slug}/10k/statistics/" in labels[0]
    assert "0:38:20" in table  # the winner's 2,300 s
    assert "Finishers per edition" in html and "Median finish time per edition" in html


def test_a_race_without_an_earlier_edition_shows_no_year_on_year(
    client: Client, alpha: Any, alice: Any
) -> None:
    computed = make_computed(alpha, publish_by=alice, days_ahead=-5)

    response = client.get(computed.url("statistics"))

    assert response.status_code == 200
    assert b"year-on-year" not in response.content


def test_participation_counts_each_edition_by_sex_and_category(
    editions: list[Computed],
) -> None:
    events = Event.objects.all()

    (series,) = participation(events)

    assert [e.event.pk for e in series.editions] == [c.race.event_id for c in editions]
    assert [code for code, _ in series.sexes] == ["F", "M"]
    row, by_sex, by_category = series.rows[0]
    assert (row.entries, row.starters, row.finishers) == (6, 5, 4)
    assert by_sex == [3, 3]
    assert sum(by_category) <= 6
    assert series.chart is not None


def test_the_participation_dashboard_shows_only_the_users_organizers(
    client: Client, editions: list[Computed], bravo: Any, charlie: Any, alice: Any
) -> None:
    older = make_computed(bravo, "Bravo 10K 2025", publish_by=charlie, days_ahead=-380)
    newer = make_computed(bravo, "Bravo 10K 2026", publish_by=charlie, days_ahead=-15)
    _link(newer.race.event, older.race.event)

    client.force_login(alice)
    response = client.get("/admin/results/resultspublication/participation/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Alpha 10K 2026 &middot; 3 editions" in html
    assert "Bravo" not in html
    client.force_login(charlie)
    html = client.get("/admin/results/resultspublication/participation/").content.decode()
    assert "Bravo 10K 2026 &middot; 2 editions" in html
    assert "Alpha" not in html
    listing = client.get("/admin/results/resultspublication/").content.decode()
    assert "/admin/results/resultspublication/participation/" in listing


def test_the_participation_dashboard_is_for_signed_in_members(client: Client) -> None:
    response = client.get("/admin/results/resultspublication/participation/")

    assert response.status_code == 302
