"""The timing desk of a race nobody has timed yet: its points are there to time it with."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from events.tests.factories import make_event, make_race
from results.compute import recompute_race
from results.models import TimingPoint
from results.tests.factories import make_read
from results.tests.timing_fixtures import make_timed

pytestmark = pytest.mark.django_db


def desk_url(race: Any, what: str = "change") -> str:
    return reverse(f"admin:results_racetiming_{what}", args=[race.pk])


def test_it_gives_a_new_race_its_default_points_on_its_desk(
    client: Client, alpha: Any, alice: Any
) -> None:
    race = make_race(make_event(alpha, "Fresh 10K"))
    client.force_login(alice)
    page = client.get(desk_url(race)).content.decode()
    assert "no timing point yet" not in page
    points = {p.name: p.pk for p in TimingPoint.objects.filter(race=race)}
    assert set(points) == {"Start", "Finish"}
    manual = reverse("admin:results_racetiming_manual", args=[race.pk, points["Finish"]])
    assert manual in page


def test_it_offers_a_new_race_s_points_for_a_file_that_names_none(
    client: Client, alpha: Any, alice: Any
) -> None:
    race = make_race(make_event(alpha, "Fresh 10K"))
    client.force_login(alice)
    form = client.get(desk_url(race, "import")).context["form"]
    assert [p.name for p in form.fields["point"].queryset] == ["Start", "Finish"]


def test_it_makes_no_points_for_a_stranger(
    client: Client, alpha: Any, bravo: Any, charlie: Any
) -> None:
    race = make_race(make_event(alpha, "Fresh 10K"))
    client.force_login(charlie)
    assert client.get(desk_url(race, "import")).status_code == 404
    assert not TimingPoint.objects.filter(race=race).exists()


def test_a_timed_race_s_desk_leads_to_its_results_and_their_publication(
    client: Client, alpha: Any, alice: Any
) -> None:
    timed = make_timed(alpha)
    make_read(timed.points["Finish"], timed.anna, 2400)
    recompute_race(race_id=timed.race.pk)
    client.force_login(alice)
    page = client.get(desk_url(timed.race)).content.decode()
    public = reverse("results:race", args=[timed.race.event.slug, timed.race.slug])
    assert f'href="{public}"' in page
    publications = reverse("admin:results_resultspublication_changelist")
    listing = re.search(rf'href="({re.escape(publications)}\?q=[^"]+)"', page)
    assert listing is not None
    rows = client.get(html.unescape(listing[1])).context["cl"].result_list
    assert [row.race for row in rows] == [timed.race]
