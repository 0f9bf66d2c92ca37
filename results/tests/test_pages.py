"""The public results table: who sees it, search, filters, sorting, paging, speed, SEO."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from events.models import Event
from events.tests.hostile import ESCAPED, RAW, SCRIPT
from results.caching import stamp_key
from results.compute import recompute_race
from results.live import apply_reads
from results.models import Result, TimingRead
from results.tests.factories import make_entry, make_read
from results.tests.pages import Computed, disqualify, make_computed

pytestmark = pytest.mark.django_db


@pytest.fixture
def computed(alpha: Any, alice: Any) -> Computed:
    """The race over and its results official: Eve DNF, Finn DNS."""
    return make_computed(alpha, publish_by=alice)


def stamp_expires(computed: Computed) -> None:
    """As ``caching.STAMP_SECONDS`` going by: the next page reads the race's results."""
    cache.delete(stamp_key(computed.race.event.slug, computed.race.slug))


def add_finishers(computed: Computed, count: int) -> None:
    for n in range(count):
        entry = make_entry(computed.race, bib=str(500 + n))
        make_read(computed.points["Finish"], entry, 3000 + n)
    recompute_race(race_id=computed.race.pk)


def bibs(response: Any) -> list[str]:
    return re.findall(r'data-bib="([^"]*)"', response.content.decode())


def json_ld(response: Any) -> dict[str, Any]:
    found = re.search(r'<script type="application/ld\+json">(.*?)</script>', response.text, re.S)
    assert found is not None
    return json.loads(found.group(1))


def test_it_lists_finishers_by_rank_then_dnf_then_dns(client: Client, computed: Computed) -> None:
    response = client.get(computed.url())
    assert response.status_code == 200
    assert bibs(response) == ["102", "104", "101", "103", "105", "106"]
    row = re.search(r'<tr class="status-finished" data-bib="102">(.*?)</tr>', response.text, re.S)
    assert row is not None
    for shown in ("Ben Birch", "Lyon Tri", "Master 40+", "0:38:20", "0:38:25", "3:50 /km"):
        assert shown in row.group(1)
    assert "Official results" in response.text


def test_it_lists_who_is_still_racing_while_provisional(client: Client, alpha: Any) -> None:
    provisional = make_computed(alpha, "Alpha Night")
    response = client.get(provisional.url())
    assert bibs(response) == ["102", "104", "101", "103", "105"]  # Finn not seen yet
    assert "Provisional results" in response.text and ">Racing<" in response.text


def test_it_searches_by_name_bib_and_club(client: Client, computed: Computed) -> None:
    assert bibs(client.get(computed.url(), {"q": "alder"})) == ["101"]
    assert bibs(client.get(computed.url(), {"q": "104"})) == ["104"]
    assert bibs(client.get(computed.url(), {"q": "lyon tri"})) == ["102", "106"]
    assert bibs(client.get(computed.url(), {"q": "Chloé"})) == ["103"]
    # As typed on a phone: without the accent, in capitals, with the accent misplaced.
    for typed in ("chloe", "CHLOÉ", "chlöe"):
        assert bibs(client.get(computed.url(), {"q": typed})) == ["103"], typed
    nobody = client.get(computed.url(), {"q": "zebra"})
    assert bibs(nobody) == [] and "No athlete matches" in nobody.text


def test_it_filters_by_category_and_sex(client: Client, computed: Computed) -> None:
    assert bibs(client.get(computed.url(), {"category": "M40"})) == ["102", "104", "103"]
    assert bibs(client.get(computed.url(), {"sex": "F"})) == ["101", "103", "105"]
    assert bibs(client.get(computed.url(), {"sex": "F", "category": "SEN"})) == ["101", "105"]


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"sex": "Q"}, "Sex: Select a valid choice. Q is not one of the available choices."),
        ({"category": "<x>"}, "Category: Select a valid choice. &lt;x&gt; is not one of"),
        ({"category": "SEN ", "sex": "F"}, "Category: Select a valid choice."),
        ({"sort": "nonsense"}, "Sort: Select a valid choice. nonsense is not one of"),
        ({"page": "-3"}, "Page: Ensure this value is greater than or equal to 1."),
        ({"page": "²"}, "Page: Enter a whole number."),
        ({"q": "x" * 101}, "Search: Ensure this value has at most 100 characters (it has 101)."),
        ({"q": "a\x00b"}, "Search: Null characters are not allowed."),
    ],
)
def test_it_answers_a_filter_it_cannot_use_with_400_and_the_reason(
    client: Client, computed: Computed, params: dict[str, str], reason: str
) -> None:
    # Said, not ignored (?sex=Q showed everyone, ?category=<x> nobody): as the marketplace.
    response = client.get(computed.url(), params)
    assert response.status_code == 400
    assert "Some filters are not valid" in response.text and reason in response.text
    assert bibs(response) == []
    assert 'id="results-filters"' in response.text  # the form, to correct them


def test_it_sorts_by_name_bib_and_time_both_ways(client: Client, computed: Computed) -> None:
    by_name = bibs(client.get(computed.url(), {"sort": "name"}))
    assert by_name == ["101", "102", "103", "104", "105", "106"]
    assert bibs(client.get(computed.url(), {"sort": "-bib"}))[:2] == ["106", "105"]
    assert bibs(client.get(computed.url(), {"sort": "-chip"}))[:1] == ["106"]


def test_it_sorts_bibs_as_numbers(client: Client, computed: Computed) -> None:
    make_read(computed.points["Finish"], make_entry(computed.race, bib="99"), 4000)
    recompute_race(race_id=computed.race.pk)
    assert bibs(client.get(computed.url(), {"sort": "bib"}))[:2] == ["99", "101"]


def test_it_pages_a_large_field(client: Client, computed: Computed) -> None:
    add_finishers(computed, 120)
    first = client.get(computed.url())
    assert len(bibs(first)) == 100 and 'rel="next"' in first.text
    second = client.get(computed.url(), {"page": 2})
    assert len(bibs(second)) == 26 and 'rel="prev"' in second.text
    canonical = '<link rel="canonical" href="http://127.0.0.1:8000/results/alpha-10k/10k/?page=2">'
    assert canonical in second.text


def test_it_keeps_the_query_count_flat_however_big_the_page(
    client: Client, computed: Computed, django_assert_max_num_queries: Any
) -> None:
    add_finishers(computed, 40)
    # the race, its results (results.tables), categories, the series linked, the stamp
    with django_assert_max_num_queries(5):
        response = client.get(computed.url(), {"q": "runner"})
    assert len(bibs(response)) == 40


def test_it_serves_the_page_from_the_cache_until_the_results_change(
    client: Client, computed: Computed, django_assert_num_queries: Any, settings: Any
) -> None:
    settings.PAGE_CACHE_SECONDS = 60
    assert bibs(client.get(computed.url())) == ["102", "104", "101", "103", "105", "106"]
    with django_assert_num_queries(0):
        assert client.get(computed.url()).status_code == 200

    read = make_read(computed.points["Finish"], computed.entries["Eve"], 2000)
    apply_reads(race_id=computed.race.pk, reads=[read])
    stamp_expires(computed)
    assert bibs(client.get(computed.url()))[:1] == ["105"]


def test_it_says_official_and_updated_after_a_change(
    client: Client, alpha: Any, alice: Any
) -> None:
    computed = make_computed(alpha, publish_by=alice)
    page = client.get(computed.url())
    assert "Official results" in page.text and "Updated" not in page.text
    disqualify(computed, "Ben", by=alice, reason="Cut the course")
    stamp_expires(computed)
    page = client.get(computed.url())
    assert "Updated" in page.text
    assert bibs(page)[:1] == ["104"]
    assert 'title="Disqualified: Cut the course"' in page.text


def test_it_marks_a_running_race_live_and_refreshing(client: Client, alpha: Any) -> None:
    gun = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=30)
    computed = make_computed(alpha, days_ahead=0, start=gun)
    race = computed.race
    page = client.get(computed.url())
    assert "Live · provisional" in page.text and 'data-live="30"' in page.text
    assert f"/live/{race.event.slug}/{race.slug}/" in page.text


def test_it_is_404_for_unknown_races_and_races_nobody_was_timed_in(
    client: Client, alpha: Any, computed: Computed
) -> None:
    assert client.get("/results/alpha-10k/nope/").status_code == 404
    assert client.get("/results/nope/10k/").status_code == 404
    untimed = make_computed(alpha, "Alpha Trail")
    TimingRead.objects.filter(race=untimed.race).delete()
    recompute_race(race_id=untimed.race.pk)
    assert not Result.objects.filter(race=untimed.race, status="finished").exists()
    assert client.get(untimed.url()).status_code == 404


def test_it_shows_a_draft_events_results_to_its_organizer_only(
    client: Client, alpha: Any, alice: Any, charlie: Any, dave: Any
) -> None:
    computed = make_computed(alpha, status=Event.Status.DRAFT)
    assert client.get(computed.url()).status_code == 404
    for stranger in (charlie, dave):
        client.force_login(stranger)
        assert client.get(computed.url()).status_code == 404
        assert client.get(computed.url("101")).status_code == 404
    client.force_login(alice)
    page = client.get(computed.url())
    assert page.status_code == 200 and "only your organizer's members" in page.text


def test_it_describes_the_race_and_its_leaders_for_search_engines(
    client: Client, computed: Computed
) -> None:
    response = client.get(computed.url())
    data = json_ld(response)
    assert data["@type"] == "SportsEvent" and data["name"] == "Alpha 10K: 10K"
    assert data["url"] == "http://127.0.0.1:8000/results/alpha-10k/10k/"
    assert [c["name"] for c in data["competitor"]] == [
        "Ben Birch", "Dan Dogwood", "Anna Alder", "Chloé Cedar",
    ]  # fmt: skip
    assert '<link rel="canonical" href="http://127.0.0.1:8000/results/alpha-10k/10k/">' in (
        response.text
    )
    searched = client.get(computed.url(), {"q": "anna"})
    assert 'content="noindex, follow"' in searched.text
    assert "competitor" not in json_ld(searched)


def test_it_lists_timed_public_races_in_the_sitemap(
    client: Client, alpha: Any, computed: Computed
) -> None:
    make_computed(alpha, "Alpha Draft", status=Event.Status.DRAFT)
    sitemap = client.get("/sitemap.xml").text
    assert "http://127.0.0.1:8000/results/alpha-10k/10k/" in sitemap
    assert "/results/alpha-draft/" not in sitemap


def test_it_shows_athletes_names_and_clubs_as_text(client: Client, computed: Computed) -> None:
    entry = computed.entries["Anna"]
    entry.first_name, entry.club = SCRIPT, SCRIPT
    entry.save()
    response = client.get(computed.url())
    head, body = response.text.split("</head>")
    assert not any(raw in body for raw in RAW)
    assert ESCAPED[0] in body
    script = head.split('<script type="application/ld+json">')[1].split("</script>")[0]
    assert "<" not in script  # a name cannot close the JSON-LD script
    assert SCRIPT in {c["name"].split()[0] for c in json_ld(response)["competitor"]} | {
        c.get("memberOf", {}).get("name") for c in json_ld(response)["competitor"]
    }
