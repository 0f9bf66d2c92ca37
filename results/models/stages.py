"""Cycling stage races: an event whose races are its stages, and its classifications' rules.

The classifications (general, points, mountains, teams) are computed when read
(``results.stages``) from the stages' results: a stage race is a few thousand rows.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models

from events.models import Event, Race
from results.models.series import is_whole_numbers
from results.models.timing import TimingPoint


def default_finish_bonuses() -> list[int]:
    return [10, 6, 4]


def default_finish_points() -> list[int]:
    return [25, 20, 16, 14, 12, 10, 8, 6, 4, 2]


class StageRace(models.Model):
    """An event run as a stage race: its rules for time bonuses and classifications."""

    ORGANIZER_PATH = "event__organizer"

    event = models.OneToOneField(Event, on_delete=models.CASCADE, related_name="stage_race")
    finish_bonuses_s = models.JSONField(
        "finish time bonuses (s)",
        default=default_finish_bonuses,
        blank=True,
        help_text="Seconds off the general classification for the stage's 1st, 2nd, … .",
    )
    finish_points = models.JSONField(
        default=default_finish_points,
        blank=True,
        help_text="Points classification points for the stage's 1st, 2nd, … .",
    )
    team_riders = models.PositiveSmallIntegerField(
        default=3, help_text="A team's best riders whose stage times make its time."
    )

    def __str__(self) -> str:
        return f"Stage race {self.event}"

    def clean(self) -> None:
        for name in ("finish_bonuses_s", "finish_points"):
            if not is_whole_numbers(getattr(self, name)):
                raise ValidationError({name: "Give a list of whole numbers, e.g. [10, 6, 4]."})


class Stage(models.Model):
    """One race of the event as a numbered stage."""

    ORGANIZER_PATH = "stage_race__event__organizer"

    stage_race = models.ForeignKey(StageRace, on_delete=models.CASCADE, related_name="stages")
    race = models.OneToOneField(Race, on_delete=models.CASCADE, related_name="stage")
    number = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["stage_race", "number"]
        constraints = [
            models.UniqueConstraint(fields=["stage_race", "number"], name="stage_number_once")
        ]

    def __str__(self) -> str:
        return f"Stage {self.number}"

    def clean(self) -> None:
        linked = self.stage_race_id and self.race_id
        if linked and self.race.event_id != self.stage_race.event_id:
            raise ValidationError({"race": "Choose a race of the stage race's event."})


class StagePoint(models.Model):
    """A timing point of a stage that is an intermediate sprint or a climb."""

    ORGANIZER_PATH = "stage__stage_race__event__organizer"

    class Kind(models.TextChoices):
        SPRINT = "sprint", "Intermediate sprint (points classification)"
        CLIMB = "climb", "Climb (mountains classification)"

    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="points")
    timing_point = models.OneToOneField(
        TimingPoint, on_delete=models.CASCADE, related_name="stage_point"
    )
    kind = models.CharField(max_length=6, choices=Kind.choices)
    points = models.JSONField(
        default=list, blank=True, help_text="Points for the 1st, 2nd, … over the line."
    )
    bonuses_s = models.JSONField(
        "time bonuses (s)",
        default=list,
        blank=True,
        help_text="Seconds off the general classification for the 1st, 2nd, … (sprints).",
    )

    class Meta:
        ordering = ["stage", "timing_point__order"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.timing_point.name}"

    def clean(self) -> None:
        for name in ("points", "bonuses_s"):
            if not is_whole_numbers(getattr(self, name)):
                raise ValidationError({name: "Give a list of whole numbers, e.g. [5, 3, 1]."})
        linked = self.stage_id and self.timing_point_id
        if linked and self.timing_point.race_id != self.stage.race_id:
            raise ValidationError({"timing_point": "Choose a timing point of this stage."})
