"""The demo's recurring events: earlier editions timed like any past race, linked year
on year, and the demo athlete's history in "My results"."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.test import Client

from events.demo.entries import demo_entries
from events.models import Event, Membership, Registration
from events.tests.factories import (
    make_age_categories,
    make_course,
    make_event,
    make_organizer,
    make_race,
)
from pace.lib.testing import cache_clear_own
from results import demo_timing
from results.demo_editions import DEMO_ATHLETE, RECURRING
from results.editions import edition_chain, year_on_year
from results.models import Result, ResultsPublication, SeriesRace


def _winter_run(owner: Any) -> Event:
    organizer = make_organizer("Northern Lights Running", members={owner: Membership.Role.OWNER})
    event = make_event(organizer, "Berlin Winter Run", days_ahead=-40, zone="Europe/Berlin")
    race = make_race(event, "10K", course=make_course(organizer))
    make_age_categories(race)
    demo_entries(race=race, count=60, seed=4)
    return event


def test_the_recurring_demo_event_gets_its_earlier_editions_timed_and_linked(
    alice: Any, client: Client
) -> None:
    current = _winter_run(alice)

    done = demo_timing.demo_seed(restarted=[])

    chain = edition_chain(current)
    back = RECURRING["berlin-winter-run"]
    assert len(chain) == back + 1 and chain[-1] == current
    assert [e.start_date.year for e in chain] == sorted({e.start_date.year for e in chain})
    assert all(e.organizer_id == current.organizer_id for e in chain)
    # Every edition is timed from decoder files and official; fields grow year on year.
    assert len(done.timed) == back + 1
    official = ResultsPublication.objects.filter(state=ResultsPublication.State.OFFICIAL)
    assert official.count() == back + 1
    sizes = [Registration.objects.filter(event=e).count() for e in chain]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]
    assert {r.event_id for r in done.entries} == {e.pk for e in chain[:-1]}
    # The season's series counts this year's 10K only.
    assert not SeriesRace.objects.exclude(race__event=current).exists()
    race = current.races.get()
    yoy = year_on_year(race, current)
    assert yoy is not None and len(yoy.editions) == back + 1
    cache_clear_own()
    page = client.get(f"/results/{current.slug}/{race.slug}/statistics/")
    assert b'id="year-on-year"' in page.content

    # The demo athlete finished each edition; "My results" lists them all.
    mine = Result.objects.filter(registration__user__email=DEMO_ATHLETE)
    assert mine.count() == back + 1
    assert set(mine.values_list("status", flat=True)) == {Result.Status.FINISHED}
    assert set(mine.values_list("registration__first_name", flat=True)) == {"Maria"}
    client.force_login(get_user_model().objects.get(email=DEMO_ATHLETE))
    html = client.get("/results/mine/").content.decode()
    for edition in chain:
        assert edition.name in html

    # Again: nothing new.
    again = demo_timing.demo_seed(restarted=[])
    assert again.timed == [] and again.entries == []
    assert len(edition_chain(current)) == back + 1
    assert mine.count() == back + 1
