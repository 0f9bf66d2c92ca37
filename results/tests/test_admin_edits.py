"""An organizer changes one athlete's result in the admin: status, penalty or bonus, reads.

alice owns Alpha, bob is its staff, charlie owns Bravo (the root conftest's personas).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from results.admin_edits import parse_duration_ms
from results.compute import recompute_race
from results.models import Result, ResultChange, ResultsPublication, TimingRead
from results.publishing import results_publish
from results.tests.factories import at, make_entry, make_points, make_read

pytestmark = pytest.mark.django_db
S = Result.Status


@pytest.fixture
def timed(race: Any) -> dict[str, Any]:
    """Two finishers, anna first (50:00) and ben second (50:30), computed, not published."""
    points = make_points(race)
    anna, ben = make_entry(race, first_name="Anna"), make_entry(race, first_name="Ben")
    reads = {
        "anna": make_read(points["Finish"], anna, 3000),
        "ben": make_read(points["Finish"], ben, 3030),
    }
    recompute_race(race_id=race.pk)
    return {"race": race, "anna": anna, "ben": ben, "reads": reads, "points": points}


def result(entry: Any) -> Result:
    return Result.objects.get(registration=entry)


def edit(client: Client, entry: Any, **data: Any) -> Any:
    return client.post(reverse("admin:results_result_edit", args=[result(entry).pk]), data)


def publish(timed: dict[str, Any], by: Any) -> None:
    results_publish(race_id=timed["race"].pk, by=by)


def test_it_parses_penalties_as_minutes_and_seconds_or_seconds() -> None:
    assert parse_duration_ms("2:30") == 150_000
    assert parse_duration_ms("1:02:03") == 3_723_000
    assert parse_duration_ms("45") == 45_000
    assert parse_duration_ms("1.5") == 1_500


def test_it_lists_the_race_s_results_with_a_link_to_each(as_alice: Client, timed) -> None:
    publication = ResultsPublication.objects.get(race=timed["race"])
    url = reverse("admin:results_resultspublication_change", args=[publication.pk])
    page = as_alice.get(url).content.decode()
    for who in ("anna", "ben"):
        assert reverse("admin:results_result", args=[result(timed[who]).pk]) in page


def test_it_disqualifies_with_a_reason_and_ben_moves_up(as_alice: Client, timed, alice) -> None:
    publish(timed, alice)
    response = edit(as_alice, timed["anna"], form="status", manual_status="dsq", dsq_reason="Cut")
    assert response.status_code == 302
    assert (result(timed["anna"]).status, result(timed["anna"]).rank_overall) == (S.DSQ, None)
    assert result(timed["ben"]).rank_overall == 1
    change = ResultChange.objects.get(field="manual_status")
    assert (change.before, change.after, change.changed_by) == ("", "dsq", alice)


def test_it_refuses_a_disqualification_without_its_reason(as_alice: Client, timed) -> None:
    response = edit(as_alice, timed["anna"], form="status", manual_status="dsq", dsq_reason=" ")
    assert response.status_code == 400
    assert "needs its reason" in response.content.decode()
    assert result(timed["anna"]).status == S.FINISHED


@pytest.mark.parametrize("status", ["dnf", "dns"])
def test_it_sets_dnf_or_dns_and_back_to_the_computed_status(as_alice, timed, status) -> None:
    edit(as_alice, timed["anna"], form="status", manual_status=status)
    assert result(timed["anna"]).status == status
    assert result(timed["ben"]).rank_overall == 1
    edit(as_alice, timed["anna"], form="status", manual_status="")
    assert result(timed["anna"]).status == S.FINISHED
    assert result(timed["anna"]).rank_overall == 1
    assert not ResultChange.objects.exists()  # provisional: nothing to audit


def test_it_adds_a_penalty_typed_as_minutes_and_the_ranks_follow(as_alice, timed, alice) -> None:
    publish(timed, alice)
    response = edit(as_alice, timed["anna"], form="adjustment", penalty="1:00", reason="Litter")
    assert response.status_code == 302
    anna = result(timed["anna"])
    assert (anna.penalty_ms, anna.time_ms, anna.rank_overall) == (60_000, 3_060_000, 2)
    assert result(timed["ben"]).rank_overall == 1
    change = ResultChange.objects.get(field="penalty_ms")
    assert (change.before, change.after, change.reason) == (0, 60_000, "Litter")


def test_it_gives_a_bonus_typed_in_seconds(as_alice, timed) -> None:
    edit(as_alice, timed["ben"], form="adjustment", bonus="45", reason="Sprint")
    assert (result(timed["ben"]).time_ms, result(timed["ben"]).rank_overall) == (2_985_000, 1)


@pytest.mark.parametrize(
    "data",
    [
        {"penalty": "ten", "reason": "Litter"},
        {"penalty": "1:00", "reason": ""},
        {"penalty": "-30", "reason": "Litter"},
    ],
)
def test_it_answers_bad_adjustments_with_the_form_s_errors(as_alice, timed, data) -> None:
    response = edit(as_alice, timed["anna"], form="adjustment", **data)
    assert response.status_code == 400
    assert response.context["adjustment_form"].errors
    assert result(timed["anna"]).penalty_ms == 0


def test_it_ignores_a_ghost_read_with_its_reason(as_alice, timed, alice) -> None:
    ghost = make_read(timed["points"]["Finish"], timed["ben"], 2000)
    recompute_race(race_id=timed["race"].pk)
    assert result(timed["ben"]).rank_overall == 1
    publish(timed, alice)
    page = as_alice.get(reverse("admin:results_result", args=[result(timed["ben"]).pk]))
    form = next(f for read, _, f in page.context["reads"] if read.pk == ghost.pk)
    data = {**form.initial, "form": "read", "ignored": "on", "reason": "Chip in a bag"}
    assert edit(as_alice, timed["ben"], **data).status_code == 302
    ghost.refresh_from_db()
    assert (ghost.ignored, ghost.ignore_reason) == (True, "Chip in a bag")
    assert (result(timed["ben"]).time_ms, result(timed["ben"]).rank_overall) == (3_030_000, 2)
    assert ResultChange.objects.filter(read=ghost, field="read.ignored").exists()


def test_it_corrects_a_read_s_time_typed_on_the_venue_s_clock(as_alice, timed, alice) -> None:
    publish(timed, alice)
    read = timed["reads"]["ben"]
    zone = timed["race"].event.local_tz
    typed = at(timed["race"], 2990).astimezone(zone).strftime("%H:%M:%S")
    data = {"form": "read", "read": read.pk, "time": typed, "reason": "Clock drift"}
    assert edit(as_alice, timed["ben"], **data).status_code == 302
    assert (result(timed["ben"]).time_ms, result(timed["ben"]).rank_overall) == (2_990_000, 1)
    assert result(timed["anna"]).rank_overall == 2
    assert ResultChange.objects.filter(read=read, field="read.time").exists()


def test_it_refuses_a_time_that_is_not_one(as_alice, timed) -> None:
    read = timed["reads"]["ben"]
    data = {"form": "read", "read": read.pk, "time": "25:99:00", "reason": "Drift"}
    response = edit(as_alice, timed["ben"], **data)
    assert response.status_code == 400
    assert "Time:" in response.content.decode()
    assert TimingRead.objects.get(pk=read.pk).time == read.time


def test_it_never_edits_another_athlete_s_read(as_alice, timed) -> None:
    data = {"form": "read", "read": timed["reads"]["anna"].pk, "ignored": "on", "reason": "x"}
    data["time"] = "10:00:00"
    assert edit(as_alice, timed["ben"], **data).status_code == 404
    assert not TimingRead.objects.filter(ignored=True).exists()


def test_it_shows_the_audit_trail_newest_first_on_the_race_s_page(as_alice, timed, alice):
    publish(timed, alice)
    edit(as_alice, timed["anna"], form="adjustment", penalty="10", reason="First")
    edit(as_alice, timed["anna"], form="adjustment", penalty="20", reason="Second")
    publication = ResultsPublication.objects.get(race=timed["race"])
    url = reverse("admin:results_resultspublication_change", args=[publication.pk])
    page = as_alice.get(url)
    changes = page.context["changes"]
    html = page.content.decode()
    assert html.index("<td>Second</td>") < html.index("<td>First</td>")
    assert [c["reason"] for c in changes if c["what"] == "penalty_ms"] == ["Second", "First"]
    latest = changes[0]
    assert (latest["who"], latest["athlete"].startswith("Anna")) == (alice, True)


def test_staff_see_the_result_but_cannot_change_it(client: Client, timed, bob) -> None:
    client.force_login(bob)
    page = client.get(reverse("admin:results_result", args=[result(timed["anna"]).pk]))
    assert page.status_code == 200
    assert not page.context["may_edit"]
    assert b"status-form" not in page.content
    response = edit(client, timed["anna"], form="status", manual_status="dnf")
    assert response.status_code == 403
    assert result(timed["anna"]).status == S.FINISHED


def test_another_organizer_finds_no_such_result(client: Client, timed, bravo, charlie) -> None:
    client.force_login(charlie)
    before = list(Result.objects.values())
    page = client.get(reverse("admin:results_result", args=[result(timed["anna"]).pk]))
    assert page.status_code == 404
    assert edit(client, timed["anna"], form="status", manual_status="dnf").status_code == 404
    assert (
        edit(client, timed["anna"], form="adjustment", penalty="60", reason="x").status_code == 404
    )
    assert list(Result.objects.values()) == before


def test_it_finds_a_result_by_bib_or_name_on_the_race_s_page(as_alice: Client, timed) -> None:
    publication = ResultsPublication.objects.get(race=timed["race"])
    url = reverse("admin:results_resultspublication_change", args=[publication.pk])
    for query in ("ben", timed["ben"].bib):
        shown = as_alice.get(url, {"q": query}).context["results"]
        assert [r.registration_id for r, _ in shown] == [timed["ben"].pk]


def test_the_timing_desk_leads_to_the_race_s_results_to_edit(as_alice: Client, timed) -> None:
    publication = ResultsPublication.objects.get(race=timed["race"])
    desk = as_alice.get(reverse("admin:results_racetiming_change", args=[timed["race"].pk]))
    assert reverse("admin:results_resultspublication_change", args=[publication.pk]) in (
        desk.content.decode()
    )
