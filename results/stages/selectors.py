"""Reads for a stage race's classification page: five queries whatever its size."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.http import Http404

from events.access import EDIT_ROLES, has_role_for
from events.models import Event
from results.athletes import EntryPerson, athlete_keys
from results.models import Result, Stage, StagePoint, StageRace
from results.stages.classify import (
    Classifications,
    PointRule,
    RiderLine,
    Rules,
    StageResult,
    TeamLine,
    classify,
)

_FIELDS = (
    "race_id", "registration_id", "registration__user_id", "registration__first_name",
    "registration__last_name", "registration__birth_date", "registration__club", "status",
    "time_ms", "rank_overall", "started_at", "splits",
)  # fmt: skip


def clock(ms: int) -> str:
    """A stage race time as riders read it: "12:04:09", "4:09" under an hour."""
    seconds = ms // 1000
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{seconds:02}" if hours else f"{minutes}:{seconds:02}"


@dataclass
class StageRacePage:
    event: Event
    stage_race: StageRace
    stages: list[Stage]
    after: int | None  # the stage the classifications are taken after (None: the latest)
    classifications: Classifications

    @property
    def general(self) -> list[tuple[RiderLine, str, str]]:
        """The GC's lines with their time and their gap to the leader."""
        lines = self.classifications.general
        first = lines[0].time_ms if lines else 0
        return [
            (line, clock(line.time_ms), "+" + clock(line.time_ms - first) if n else "")
            for n, line in enumerate(lines)
        ]

    @property
    def teams(self) -> list[tuple[TeamLine, str]]:
        return [(team, clock(team.time_ms)) for team in self.classifications.teams]


def stage_race_of(*, event_slug: str, user: Any) -> StageRace:
    """The event's stage race, or 404 (none, or a draft event for a stranger)."""
    stage_race = (
        StageRace.objects.select_related("event")
        .defer("event__description")
        .filter(event__slug=event_slug)
        .first()
    )
    if stage_race is None:
        raise Http404("This event is not a stage race")
    if not stage_race.event.is_public and not has_role_for(user, stage_race.event, EDIT_ROLES):
        raise Http404("This event is not a stage race")
    return stage_race


def rules_of(stage_race: StageRace, *, numbers: dict[int, int]) -> Rules:
    """The stage race's rules; ``numbers`` maps each stage's id to its number."""
    points = StagePoint.objects.filter(stage_id__in=numbers).values_list(
        "stage_id", "timing_point_id", "kind", "points", "bonuses_s"
    )
    return Rules(
        finish_bonuses_s=tuple(stage_race.finish_bonuses_s),
        finish_points=tuple(stage_race.finish_points),
        team_riders=stage_race.team_riders,
        points=tuple(
            PointRule(numbers[stage_id], point_id, kind, tuple(table), tuple(bonuses))
            for stage_id, point_id, kind, table, bonuses in points
        ),
    )


def stage_results(stages: list[Stage]) -> list[StageResult]:
    """The stages' results, riders matched across stages as series match athletes."""
    number_of = {stage.race_id: stage.number for stage in stages}
    rows = list(Result.objects.filter(race_id__in=number_of).values_list(*_FIELDS))
    keys = athlete_keys(EntryPerson(*row[1:6]) for row in rows)
    return [
        StageResult(
            stage=number_of[race_id],
            rider=keys[reg],
            name=f"{first} {last}",
            club=club,
            finished=status == Result.Status.FINISHED,
            time_ms=time_ms,
            rank=rank,
            passes=_passes(started, splits),
        )
        for race_id, reg, _, first, last, _, club, status, time_ms, rank, started, splits in rows
    ]


def _passes(started: dt.datetime | None, splits: dict[str, int]) -> dict[int, int]:
    """{timing point id: when crossed}: the first pass of each point ("p12", not "p12.2")."""
    base = round(started.timestamp() * 1000) if started is not None else 0
    return {
        int(key[1:]): base + int(ms)
        for key, ms in splits.items()
        if key.startswith("p") and key[1:].isdigit()
    }


def stage_race_page(*, event_slug: str, user: Any, after: int | None = None) -> StageRacePage:
    stage_race = stage_race_of(event_slug=event_slug, user=user)
    stages = list(stage_race.stages.select_related("race").order_by("number"))
    counted = [s for s in stages if after is None or s.number <= after]
    rules = rules_of(stage_race, numbers={s.pk: s.number for s in counted})
    return StageRacePage(
        event=stage_race.event,
        stage_race=stage_race,
        stages=stages,
        after=after,
        classifications=classify(rules, stage_results(counted)),
    )
