"""A race's results for its organizer, as CSV and XLSX.

The race is looked up through ``scope_to_user``: another organizer's race is not found,
whatever id a request names. Cells go through ``events.exports`` (``table_csv``,
``table_xlsx``), which neutralise text a spreadsheet would run as a formula.
Times are written to the millisecond: the organizer's file is the record.
"""

from __future__ import annotations

from typing import Any, cast

from django.http import Http404
from django_countries.fields import Country

from events.access import EDIT_ROLES, scope_to_user
from events.exports import Table, table_csv, table_xlsx
from events.models import Race
from results import formatting
from results.models import Result, TimingPoint
from results.tables import STATUS_ORDER

HEADER = [
    "Rank", "Bib", "Last name", "First name", "Sex", "Rank (sex)", "Category",
    "Rank (category)", "Club", "Nationality", "Status", "Time", "Chip time", "Gun time",
    "Penalty", "Bonus", "Reason",
]  # fmt: skip


def exportable_race(*, user: Any, race_id: int) -> Race:
    """A race of one of the user's organizers; 404 for any other."""
    races = scope_to_user(Race.objects.select_related("event"), user, EDIT_ROLES)
    race = races.filter(pk=race_id).first()
    if race is None:
        raise Http404("No such race")
    return race


def _ms(value: int | None) -> str:
    return formatting.duration(value, precise=True)


def results_table(*, user: Any, race_id: int) -> tuple[Race, Table]:
    """Every result of a race in rank order, with a column per timing point passed."""
    race = exportable_race(user=user, race_id=race_id)
    points = [
        p
        for p in TimingPoint.objects.filter(race=race).order_by("order", "distance_m")
        if p.kind != TimingPoint.Kind.START
    ]
    results = sorted(
        Result.objects.filter(race=race).select_related("registration", "category"),
        key=lambda r: (STATUS_ORDER.get(r.status, 9), r.time_ms or 0, r.registration.last_name),
    )
    rows = []
    for result in results:
        entry = result.registration
        rows.append(
            [
                result.rank_overall,
                entry.bib,
                entry.last_name,
                entry.first_name,
                result.sex,
                result.rank_sex,
                result.category.name if result.category else "",
                result.rank_category,
                entry.club,
                cast(Country, entry.nationality).code,
                result.get_status_display(),
                _ms(result.time_ms),
                _ms(result.chip_time_ms),
                _ms(result.gun_time_ms),
                _ms(result.penalty_ms or None),
                _ms(result.bonus_ms or None),
                result.dsq_reason,
                *(_ms(result.splits.get(f"p{p.pk}")) for p in points),
            ]
        )
    return race, Table(header=HEADER + [p.name for p in points], rows=rows)


def results_csv(*, user: Any, race_id: int) -> tuple[Race, bytes]:
    race, table = results_table(user=user, race_id=race_id)
    return race, table_csv(table)


def results_xlsx(*, user: Any, race_id: int) -> tuple[Race, bytes]:
    race, table = results_table(user=user, race_id=race_id)
    return race, table_xlsx(table, title="Results")
