"""One athlete's result, their GPS trace, their certificate, statistics and "My results"."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from events.tests.hostile import ESCAPED, RAW, SCRIPT
from pace.lib.testing import cache_clear_own
from results.tests.pages import Computed, make_computed
from tracking.models import Position

pytestmark = pytest.mark.django_db


@pytest.fixture
def computed(alpha: Any, alice: Any) -> Computed:
    return make_computed(alpha, publish_by=alice)


def split_cells(response: Any) -> list[list[str]]:
    body = response.text.split('id="splits"')[1].split("</table>")[0]
    rows = re.findall(r"<tr>(.*?)</tr>", body.split("<tbody>")[1], re.S)
    return [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in rows]


def test_it_shows_splits_segments_paces_and_places(client: Client, computed: Computed) -> None:
    response = client.get(computed.url("101"))
    assert response.status_code == 200
    assert '<h1 id="athlete-name">Anna Alder</h1>' in response.text
    # Anna: 5 km at 20:00 (3rd of five there), the finish at 40:50 (3rd overall).
    assert split_cells(response) == [
        ["5 km", "5.0 km", "0:20:00", "0:20:00", "4:00 /km", "3"],
        ["Finish", "10.0 km", "0:40:50", "0:20:50", "4:10 /km", "3"],
    ]
    assert 'aria-label="Pace per segment"' in response.text
    assert "Certificate (PDF)" in response.text


def test_it_describes_the_athlete_as_a_person_in_the_race(
    client: Client, computed: Computed
) -> None:
    response = client.get(computed.url("102"))
    found = re.search(r'<script type="application/ld\+json">(.*?)</script>', response.text, re.S)
    assert found is not None
    data = json.loads(found.group(1))
    assert (data["@type"], data["name"]) == ("Person", "Ben Birch")
    assert data["memberOf"] == {"@type": "SportsOrganization", "name": "Lyon Tri"}
    assert data["performerIn"]["@type"] == "SportsEvent"
    assert data["url"] == "http://127.0.0.1:8000/results/alpha-10k/10k/102/"


def test_it_is_404_for_a_bib_with_no_result(client: Client, computed: Computed) -> None:
    assert client.get(computed.url("999")).status_code == 404
    assert client.get(computed.url("999") + "certificate.pdf").status_code == 404


def test_it_shows_who_did_not_finish_without_a_certificate(
    client: Client, computed: Computed
) -> None:
    page = client.get(computed.url("105"))
    assert page.status_code == 200 and "Did not finish" in page.text
    assert "Certificate" not in page.text
    assert client.get(computed.url("105") + "certificate.pdf").status_code == 404


def test_it_draws_the_gps_trace_when_the_athlete_had_a_tracker(
    client: Client, computed: Computed
) -> None:
    assert "trace-map" not in client.get(computed.url("101")).text
    start = computed.race.start_time
    Position.objects.bulk_create(
        Position(
            race=computed.race, registration=computed.entries["Anna"], seq=n,
            t=start + dt.timedelta(seconds=10 * n), lat=45.0 + n / 1000, lon=6.0,
            received_at=timezone.now(),
        )
        for n in range(5)
    )  # fmt: skip
    cache_clear_own()
    page = client.get(computed.url("101"))
    assert 'id="trace-map"' in page.text and "leaflet.js" in page.text
    trace = client.get(computed.url("101") + "trace.json").json()["trace"]
    assert trace == [[45.0 + n / 1000, 6.0] for n in range(5)]


def test_it_makes_a_one_page_pdf_certificate_with_the_name(
    client: Client, computed: Computed
) -> None:
    response = client.get(computed.url("103") + "certificate.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    pdf = response.content
    assert (
        pdf.startswith(b"%PDF-") and pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page>") >= 1
    )
    title = re.search(rb"/Title <feff([0-9a-f]+)>", pdf)
    assert title is not None
    assert "Chloé Cedar" in bytes.fromhex(title.group(1).decode()).decode("utf-16-be")
    assert b"/Count 1" in pdf  # one page


def test_it_counts_starters_finishers_and_the_fastest_segments(
    client: Client, computed: Computed
) -> None:
    response = client.get(computed.url("statistics"))
    assert response.status_code == 200
    facts = dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", response.text))
    assert facts["Entries"] == "6" and facts["Starters"] == "5" and facts["Finishers"] == "4"
    assert facts["DNF rate"] == "20.0 %" and facts["DNS"] == "1"
    assert facts["Fastest"] == "0:38:20" and facts["Slowest"] == "0:45:00"
    assert 'aria-label="Finishers per minute of finish time"' in response.text
    segments = response.text.split("Fastest segments")[1]
    first = segments.split("</ol>")[0]
    assert first.index("Ben Birch") < first.index("Dan Dogwood") < first.index("Anna Alder")
    assert "5 km → Finish" in segments


def test_it_lists_my_results_across_races(
    client: Client, alpha: Any, alice: Any, dave: Any
) -> None:
    spring = make_computed(alpha, "Alpha Spring", publish_by=alice)
    autumn = make_computed(alpha, "Alpha Autumn", days_ahead=60)
    for computed in (spring, autumn):
        entry = computed.entries["Dan"]
        entry.user = dave
        entry.save()
    assert client.get("/results/mine/").status_code == 302
    client.force_login(dave)
    response = client.get("/results/mine/")
    assert response.status_code == 200
    rows = response.text.split('id="my-results"')[1]
    assert rows.index("Alpha Autumn") < rows.index("Alpha Spring")  # newest first
    assert "2 / 4" in rows and f'href="{spring.url("104")}certificate.pdf"' in rows
    assert 'href="/results/mine/">My results</a>' in response.text


def test_it_reads_an_athletes_page_and_statistics_in_a_few_queries(
    client: Client, computed: Computed, django_assert_max_num_queries: Any
) -> None:
    # race, result, points, the race's results (results.tables), trace?, the stamp
    with django_assert_max_num_queries(6):
        assert client.get(computed.url("101")).status_code == 200
    # race, counts, finishers, points, stamp
    with django_assert_max_num_queries(5):
        assert client.get(computed.url("statistics")).status_code == 200


def test_it_shows_hostile_names_as_text_on_athlete_and_statistics_pages(
    client: Client, computed: Computed
) -> None:
    entry = computed.entries["Ben"]
    entry.last_name, entry.club = SCRIPT, SCRIPT
    entry.save()
    for path in (computed.url("102"), computed.url("statistics")):
        head, body = client.get(path).text.split("</head>")
        assert not any(raw in body for raw in RAW) and ESCAPED[0] in body
        assert "<script>window" not in head


def test_a_bib_named_statistics_still_reaches_its_athletes_page(
    client: Client, computed: Computed
) -> None:
    """``…/statistics/`` is the race's statistics; such a bib's page is ``…/bib/statistics/``,
    and every link to that athlete goes there (any bib works at ``…/bib/BIB/``)."""
    anna = computed.entries["Anna"]
    anna.bib = "statistics"
    anna.save(update_fields=["bib"])
    cache_clear_own()

    assert 'id="race-stats"' in client.get(computed.url("statistics")).text
    page = client.get(computed.url("bib", "statistics"))
    assert page.status_code == 200
    assert '<h1 id="athlete-name">Anna Alder</h1>' in page.text
    canonical = re.search(r'<link rel="canonical" href="([^"]+)"', page.text)
    assert canonical is not None and canonical[1].endswith(computed.url("bib", "statistics"))
    table = client.get(computed.url()).text
    assert f'href="{computed.url("bib", "statistics")}">Anna Alder</a>' in table
    assert client.get(computed.url("bib", "102")).status_code == 200  # any bib, the same page
    certificate = computed.url("statistics") + "certificate.pdf"
    assert client.get(certificate)["Content-Type"] == "application/pdf"
