"""Official results, and every change after publishing audited."""

from __future__ import annotations

from typing import Any

import pytest

from results.compute import recompute_race
from results.models import Result, ResultChange, ResultsPublication
from results.publishing import (
    read_update,
    result_set_adjustment,
    result_set_status,
    results_publish,
)
from results.tests.factories import at, make_entry, make_points, make_read

S = Result.Status


@pytest.fixture
def points(race: Any) -> dict[str, Any]:
    return make_points(race)


def changes() -> list[tuple[str, Any, Any]]:
    return list(ResultChange.objects.values_list("field", "before", "after"))


def test_it_publishes_official_results_with_everyone_unfinished_dnf_or_dns(
    race, points, alice
) -> None:
    finisher, quitter, absent = make_entry(race), make_entry(race), make_entry(race)
    make_read(points["Finish"], finisher, 3000)
    make_read(points["5 km"], quitter, 1500)
    recompute_race(race_id=race.pk)
    assert Result.objects.get(registration=quitter).status == S.RACING

    publication = results_publish(race_id=race.pk, by=alice)

    assert (publication.state, publication.published_by) == (
        ResultsPublication.State.OFFICIAL,
        alice,
    )
    assert publication.published_at is not None and publication.changed_at is None
    statuses = {r.registration_id: r.status for r in Result.objects.all()}
    assert statuses == {finisher.pk: S.FINISHED, quitter.pk: S.DNF, absent.pk: S.DNS}
    assert changes() == []  # publishing is not a change to official results


def test_it_changes_provisional_results_without_an_audit(race, points, alice) -> None:
    entry = make_entry(race)
    make_read(points["Finish"], entry, 3000)
    recompute_race(race_id=race.pk)
    result = result_set_adjustment(
        race_id=race.pk, registration_id=entry.pk, penalty_ms=60_000, by=alice
    )
    assert result is not None and result.time_ms == 3_060_000
    assert changes() == []


def test_it_audits_a_penalty_after_publishing_and_the_times_and_ranks_follow(
    race, points, alice
) -> None:
    a, b = make_entry(race), make_entry(race)
    make_read(points["Finish"], a, 3000)
    make_read(points["Finish"], b, 3030)
    results_publish(race_id=race.pk, by=alice)

    result_set_adjustment(
        race_id=race.pk, registration_id=a.pk, penalty_ms=60_000, by=alice, reason="Littering"
    )

    assert sorted(changes()) == [("penalty_ms", 0, 60_000), ("time_ms", 3_000_000, 3_060_000)]
    change = ResultChange.objects.get(field="penalty_ms")
    assert (change.changed_by, change.reason) == (alice, "Littering")
    assert Result.objects.get(registration=b).rank_overall == 1
    assert ResultsPublication.objects.get(race=race).changed_at is not None


def test_it_audits_a_disqualification_with_its_reason(race, points, alice) -> None:
    entry = make_entry(race)
    make_read(points["Finish"], entry, 3000)
    results_publish(race_id=race.pk, by=alice)
    with pytest.raises(ValueError, match="reason"):
        result_set_status(race_id=race.pk, registration_id=entry.pk, manual_status="dsq", by=alice)

    result_set_status(
        race_id=race.pk, registration_id=entry.pk, manual_status="dsq",
        dsq_reason="Cut the course", by=alice,
    )  # fmt: skip

    assert sorted(changes()) == [
        ("dsq_reason", "", "Cut the course"),
        ("manual_status", "", "dsq"),
        ("status", "finished", "dsq"),
    ]
    result = Result.objects.get(registration=entry)
    assert (result.status, result.rank_overall, result.dsq_reason) == (
        S.DSQ,
        None,
        "Cut the course",
    )


def test_it_audits_a_read_set_aside_and_a_read_moved_in_time(race, points, alice) -> None:
    entry = make_entry(race)
    ghost = make_read(points["Finish"], entry, 1000)
    real = make_read(points["Finish"], entry, 3000)
    results_publish(race_id=race.pk, by=alice)
    assert Result.objects.get(registration=entry).chip_time_ms == 1_000_000

    read_update(read=ghost, ignored=True, reason="Chip in a bag at the finish", by=alice)
    read_update(read=real, time=at(race, 2990), by=alice, reason="Clock drift")

    assert Result.objects.get(registration=entry).chip_time_ms == 2_990_000
    recorded = list(ResultChange.objects.values_list("field", "read_id", "after"))
    assert recorded == [
        ("read.ignored", ghost.pk, True),
        ("gun_time_ms", ghost.pk, 3_000_000),
        ("chip_time_ms", ghost.pk, 3_000_000),
        ("time_ms", ghost.pk, 3_000_000),
        ("read.time", real.pk, at(race, 2990).isoformat()),
        ("gun_time_ms", real.pk, 2_990_000),
        ("chip_time_ms", real.pk, 2_990_000),
        ("time_ms", real.pk, 2_990_000),
    ]
