"""Race control's DNF (``tracking.signals.athlete_withdrawn``) reaches results: the
athlete's status is DNF, and once results are official the change is audited with who
marked it and why."""

from __future__ import annotations

from typing import Any

import pytest

from results.compute import recompute_race
from results.models import Result, ResultChange
from results.publishing import results_publish
from results.tests.factories import make_entry, make_points, make_read
from tracking.control.actions import athlete_withdraw

pytestmark = pytest.mark.django_db


def test_race_controls_dnf_sets_the_result_dnf(race: Any, alice: Any) -> None:
    points = make_points(race)
    entry = make_entry(race)
    make_read(points["5 km"], entry, 1500)
    recompute_race(race_id=race.pk)
    assert Result.objects.get(registration=entry).status == Result.Status.RACING
    athlete_withdraw(race=race, registration_id=entry.pk, by=alice, reason="Knee")
    result = Result.objects.get(registration=entry)
    assert (result.status, result.manual_status) == (Result.Status.DNF, "dnf")
    assert not ResultChange.objects.exists()  # provisional results are not audited


def test_after_publishing_the_dnf_is_audited_with_who_and_why(race: Any, alice: Any) -> None:
    points = make_points(race)
    entry, other = make_entry(race), make_entry(race)
    make_read(points["Finish"], entry, 3000)
    make_read(points["Finish"], other, 3100)
    results_publish(race_id=race.pk, by=alice)
    athlete_withdraw(race=race, registration_id=entry.pk, by=alice, reason="Cut the course")
    result = Result.objects.get(registration=entry)
    assert result.status == Result.Status.DNF
    change = ResultChange.objects.get(field="manual_status")
    assert (change.before, change.after, change.changed_by) == ("", "dnf", alice)
    assert change.reason == "Cut the course"
    assert Result.objects.get(registration=other).rank_overall == 1
