"""Results: one row per entry of a race, its publication, and the audit of later changes.

Durations are integer milliseconds. A result's inputs (``manual_status``,
``dsq_reason``, ``penalty_ms``, ``bonus_ms``) are the organizer's; everything
else is computed from reads by ``results.compute`` and may be recomputed at
any time.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from events.models import Race, RaceCategory, Registration
from results.models.timing import TimingRead


class Result(models.Model):
    """An entry's standing in its race: times, splits, ranks and status."""

    ORGANIZER_PATH = "race__event__organizer"

    class Status(models.TextChoices):
        NOT_STARTED = "not_started", "Not started"
        RACING = "racing", "Racing"
        FINISHED = "finished", "Finished"
        DNF = "dnf", "Did not finish"
        DNS = "dns", "Did not start"
        DSQ = "dsq", "Disqualified"

    class ManualStatus(models.TextChoices):
        NONE = "", "As timed"
        DNF = "dnf", "Did not finish"
        DNS = "dns", "Did not start"
        DSQ = "dsq", "Disqualified"

    race = models.ForeignKey(Race, on_delete=models.CASCADE, related_name="results")
    registration = models.ForeignKey(Registration, on_delete=models.CASCADE, related_name="results")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.NOT_STARTED)
    manual_status = models.CharField(
        max_length=3, choices=ManualStatus.choices, blank=True, default=""
    )
    dsq_reason = models.CharField(max_length=200, blank=True)
    # The entry's sex and category (age on race day) when computed: ranks are taken in them.
    sex = models.CharField(max_length=1, blank=True)
    category = models.ForeignKey(
        RaceCategory, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    gun_time_ms = models.BigIntegerField(null=True, blank=True)
    chip_time_ms = models.BigIntegerField(null=True, blank=True)
    penalty_ms = models.PositiveBigIntegerField(default=0)
    bonus_ms = models.PositiveBigIntegerField(default=0)
    # The time ranks are taken by: gun or chip time (TimingRules), + penalty - bonus.
    time_ms = models.BigIntegerField(null=True, blank=True)
    rank_overall = models.PositiveIntegerField(null=True, blank=True)
    rank_sex = models.PositiveIntegerField(null=True, blank=True)
    rank_category = models.PositiveIntegerField(null=True, blank=True)
    # {"p<timing point id>": ms since the athlete's start, "p<id>.<n>": the n-th pass of a
    # lap point (n ≥ 2)}: one JSON value rather than a row per split, so a race is rewritten
    # in one bulk update. Keys are not bare numbers: Django's JSON lookups read "12" as an
    # array index on PostgreSQL.
    splits = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["race", "registration"], name="one_result_per_entry")
        ]
        indexes = [
            models.Index(fields=["race", "status", "time_ms"]),
            # A live read finds its neighbours in time within its sex and its category.
            models.Index(
                fields=["race", "sex", "time_ms"],
                condition=models.Q(status="finished"),
                name="result_finished_by_sex",
            ),
            models.Index(
                fields=["race", "category", "time_ms"],
                condition=models.Q(status="finished"),
                name="result_finished_by_category",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.registration_id}: {self.get_status_display()}"


class ResultsPublication(models.Model):
    """Whether a race's results are provisional or official, and since when."""

    ORGANIZER_PATH = "race__event__organizer"

    class State(models.TextChoices):
        PROVISIONAL = "provisional", "Provisional"
        OFFICIAL = "official", "Official"

    race = models.OneToOneField(Race, on_delete=models.CASCADE, related_name="results_publication")
    state = models.CharField(max_length=12, choices=State.choices, default=State.PROVISIONAL)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Last change to official results (the page says "updated"); null if none since.
    changed_at = models.DateTimeField(null=True, blank=True)
    # Bumped whenever what results are computed from changes for the whole race (rules,
    # points, waves, categories, start): live reads reuse a process's copy until then.
    setup_version = models.PositiveIntegerField(default=0, editable=False)

    def __str__(self) -> str:
        return f"{self.get_state_display()} results of {self.race_id}"


class ResultChange(models.Model):
    """One change to official results: who, when, what, before and after."""

    ORGANIZER_PATH = "race__event__organizer"

    race = models.ForeignKey(Race, on_delete=models.CASCADE, related_name="result_changes")
    result = models.ForeignKey(
        Result, on_delete=models.SET_NULL, null=True, blank=True, related_name="changes"
    )
    read = models.ForeignKey(
        TimingRead, on_delete=models.SET_NULL, null=True, blank=True, related_name="changes"
    )
    field = models.CharField(max_length=40)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["changed_at", "pk"]

    def __str__(self) -> str:
        return f"{self.field}: {self.before!r} → {self.after!r}"
