"""Series and championships: races of one organizer whose results earn points.

The standings are stored (``SeriesStanding``), recomputed by ``results.series.recompute``
whenever a counted race's results change, so a standings page is one read of rows
however many races the series spans.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from events.models import Organizer, Race


class TieBreak(models.TextChoices):
    """How athletes level on points are told apart, applied in the series' order."""

    COUNTBACK = "countback", "More wins, then more 2nd places, and so on"
    LAST_RACE = "last_race", "Better place in the last race either took part in"
    FEWER_RACES = "fewer_races", "Fewer races entered"


def default_tie_breaks() -> list[str]:
    return [TieBreak.COUNTBACK, TieBreak.LAST_RACE]


def default_points_table() -> list[int]:
    return [100, 80, 60, 50, 45, 40, 36, 32, 29, 26, 24, 22, 20, 18, 16, 15, 14, 13, 12, 11]


def is_whole_numbers(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(p, int) and not isinstance(p, bool) and p >= 0 for p in value
    )


class Series(models.Model):
    """A championship over some of an organizer's races (of one or several events)."""

    ORGANIZER_PATH = "organizer"

    class Scoring(models.TextChoices):
        TABLE = "table", "Points table (1st, 2nd, 3rd, …)"
        FORMULA = "formula", "Formula: max(0, N - rank + 1)"

    organizer = models.ForeignKey(Organizer, on_delete=models.CASCADE, related_name="series")
    name = models.CharField(max_length=200)
    slug = models.SlugField(
        max_length=120, unique=True, help_text="Used in the address: /series/SLUG/"
    )
    description = models.TextField(blank=True)
    is_public = models.BooleanField(
        default=False, help_text="Show the standings page to everyone (else members only)."
    )
    scoring = models.CharField(max_length=8, choices=Scoring.choices, default=Scoring.TABLE)
    points_table = models.JSONField(
        default=default_points_table,
        blank=True,
        help_text="Points of the 1st, 2nd, … as a list, e.g. [100, 80, 60]; ranks past its "
        "end score 0.",
    )
    formula_n = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="N of the formula (empty: the number of athletes ranked in that race).",
    )
    best_of = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Count only each athlete's best N results (empty: all of them).",
    )
    tie_breaks = models.JSONField(
        default=default_tie_breaks,
        blank=True,
        help_text="In order, from: " + ", ".join(TieBreak.values),
    )
    computed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name_plural = "series"
        ordering = ["organizer", "name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if not is_whole_numbers(self.points_table):
            raise ValidationError({"points_table": "Give a list of whole points, e.g. [10, 8]."})
        if self.scoring == self.Scoring.TABLE and not self.points_table:
            raise ValidationError({"points_table": "A points table needs at least one entry."})
        breaks = self.tie_breaks
        if not isinstance(breaks, list) or any(b not in TieBreak.values for b in breaks):
            raise ValidationError({"tie_breaks": "Choose from: " + ", ".join(TieBreak.values)})
        if len(set(breaks)) != len(breaks):
            raise ValidationError({"tie_breaks": "Name each tie-break once."})


class SeriesRace(models.Model):
    """A race that counts in a series."""

    ORGANIZER_PATH = "series__organizer"

    series = models.ForeignKey(Series, on_delete=models.CASCADE, related_name="series_races")
    race = models.ForeignKey(Race, on_delete=models.CASCADE, related_name="series_races")

    class Meta:
        ordering = ["race__start_time"]
        constraints = [
            models.UniqueConstraint(fields=["series", "race"], name="race_once_per_series")
        ]

    def __str__(self) -> str:
        return f"{self.race} in {self.series}"

    def clean(self) -> None:
        if not (self.series_id and self.race_id):
            return
        races = Race.objects.filter(pk=self.race_id)
        if races.values_list("event__organizer_id", flat=True).first() != self.series.organizer_id:
            raise ValidationError({"race": "Choose a race of the series' organizer."})


class SeriesStanding(models.Model):
    """One athlete's place in one of a series' standings (overall, a sex, a category)."""

    ORGANIZER_PATH = "series__organizer"

    series = models.ForeignKey(Series, on_delete=models.CASCADE, related_name="standings")
    # "overall", "sex:F", "cat:<category code>"
    scope = models.CharField(max_length=40)
    rank = models.PositiveIntegerField()
    athlete_key = models.CharField(max_length=300)
    name = models.CharField(max_length=201)
    club = models.CharField(max_length=200, blank=True)
    points = models.PositiveIntegerField()
    races = models.PositiveSmallIntegerField(help_text="Races with a result in this standing.")
    # [{"race": id, "rank": n, "points": p, "counted": bool}, …] in the series' race order.
    detail = models.JSONField(default=list)

    class Meta:
        ordering = ["series", "scope", "rank", "name"]
        indexes = [models.Index(fields=["series", "scope", "rank"])]

    def __str__(self) -> str:
        return f"{self.rank}. {self.name} ({self.points})"
