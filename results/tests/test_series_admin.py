"""Series and stage races in the back office: scoped per organizer, standings on save."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from events.tests.factories import make_event, make_race
from results.models import Series, StageRace


def series_form(race: Any, organizer: Any, **fields: Any) -> dict[str, Any]:
    return {
        "organizer": organizer.pk, "name": "Alpha Cup", "slug": "alpha-cup", "description": "",
        "scoring": "table", "points_table": "[10, 6, 4]", "formula_n": "", "best_of": "",
        "tie_breaks": '["countback", "last_race"]', "is_public": "on",
        "series_races-TOTAL_FORMS": "1", "series_races-INITIAL_FORMS": "0",
        "series_races-MIN_NUM_FORMS": "0", "series_races-MAX_NUM_FORMS": "1000",
        "series_races-0-race": race.pk, **fields,
    }  # fmt: skip


def test_it_saves_a_series_and_computes_its_standings(client: Any, alice: Any, alpha: Any) -> None:
    race = make_race(make_event(alpha, "Alpha 10K"), "10K")
    client.force_login(alice)
    assert client.get(reverse("admin:results_series_add")).status_code == 200

    response = client.post(reverse("admin:results_series_add"), series_form(race, alpha))

    assert response.status_code == 302, response.content.decode()[:2000]
    series = Series.objects.get(slug="alpha-cup")
    assert list(series.series_races.values_list("race", flat=True)) == [race.pk]
    assert series.computed_at is not None


def test_it_offers_no_race_of_another_organizer(
    client: Any, charlie: Any, alpha: Any, bravo: Any
) -> None:
    theirs = make_race(make_event(alpha, "Alpha 10K"), "10K")
    client.force_login(charlie)

    response = client.post(reverse("admin:results_series_add"), series_form(theirs, bravo))

    assert response.status_code == 200  # the form again, with the error
    assert "Select a valid choice" in response.content.decode()
    assert not Series.objects.exists()


def test_it_refuses_an_unknown_tie_break(client: Any, alice: Any, alpha: Any) -> None:
    race = make_race(make_event(alpha, "Alpha 10K"), "10K")
    client.force_login(alice)
    form = series_form(race, alpha, tie_breaks='["coin_toss"]')
    response = client.post(reverse("admin:results_series_add"), form)
    assert response.status_code == 200 and "Choose from: countback" in response.content.decode()


def test_it_lists_stage_races_of_the_users_organizers_only(
    client: Any, bob: Any, charlie: Any, alpha: Any
) -> None:
    stage_race = StageRace.objects.create(event=make_event(alpha, "Tour Alpha", sport="cycling"))
    url = reverse("admin:results_stagerace_changelist")
    client.force_login(charlie)
    assert "Tour Alpha" not in client.get(url).content.decode()
    change = reverse("admin:results_stagerace_change", args=[stage_race.pk])
    assert client.get(change).status_code != 200
    client.force_login(bob)
    assert "Tour Alpha" in client.get(url).content.decode()
    assert client.get(change).status_code == 200
    assert client.get(reverse("admin:results_stage_add")).status_code == 200
