"""Timing: where a race is timed, when its waves start, and every read taken there.

Reads are the input and are never rewritten by computation: a read an organizer
sets aside is marked ``ignored`` (with a reason); duplicates, ghosts and reads
outside the race's window are filtered when results are computed, so a late
chip read can still overrule a GPS crossing it arrives after.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models

from events.models import Event, Race, Registration

DEFAULT_MIN_GAP_MS = 30_000


class TimingRules(models.Model):
    """How a race's results are computed; one row per race, made when first needed."""

    ORGANIZER_PATH = "race__event__organizer"

    class RankBy(models.TextChoices):
        CHIP = "chip", "Chip time (start mat to finish)"
        GUN = "gun", "Gun time (wave start to finish)"

    race = models.OneToOneField(Race, on_delete=models.CASCADE, related_name="timing_rules")
    rank_by = models.CharField(max_length=4, choices=RankBy.choices, default=RankBy.CHIP)
    cutoff_ms = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        help_text="Reads later than this after the athlete's wave start are not counted "
        "(empty: the race's time limit, if any).",
    )
    max_speed_mps = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0.1)],
        help_text="A read implying a faster average speed from the start is a ghost read.",
    )
    laps = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1)],
        help_text="Passes over the finish line that make a finish (lap races).",
    )

    class Meta:
        verbose_name_plural = "timing rules"

    def __str__(self) -> str:
        return f"Timing rules of {self.race_id}"


class TimingPoint(models.Model):
    """A place on the course where reads are taken (a mat, a line, a GPS split point)."""

    ORGANIZER_PATH = "race__event__organizer"

    class Kind(models.TextChoices):
        START = "start", "Start"
        SPLIT = "split", "Split"
        LAP = "lap", "Lap (crossed every lap)"
        FINISH = "finish", "Finish"

    race = models.ForeignKey(Race, on_delete=models.CASCADE, related_name="timing_points")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=6, choices=Kind.choices, default=Kind.SPLIT)
    distance_m = models.FloatField(validators=[MinValueValidator(0)])
    order = models.PositiveSmallIntegerField(default=0)
    min_gap_ms = models.PositiveIntegerField(
        default=DEFAULT_MIN_GAP_MS,
        help_text="Reads of one athlete closer than this to their previous read here are "
        "duplicates (an athlete standing on the mat).",
    )

    class Meta:
        ordering = ["race", "order", "distance_m"]
        constraints = [
            models.UniqueConstraint(fields=["race", "name"], name="timing_point_name_per_race")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()}, {self.distance_m / 1000:.2f} km)"


class Wave(models.Model):
    """A group of a race's entries that starts at its own time."""

    ORGANIZER_PATH = "race__event__organizer"

    race = models.ForeignKey(Race, on_delete=models.CASCADE, related_name="waves")
    name = models.CharField(max_length=100)
    start_time = models.DateTimeField()

    class Meta:
        ordering = ["race", "start_time", "name"]
        constraints = [models.UniqueConstraint(fields=["race", "name"], name="wave_name_per_race")]

    def __str__(self) -> str:
        return self.name


class WaveEntry(models.Model):
    """An entry's wave. Kept here, not on the registration: ``events`` knows no waves.

    An entry without one starts with the race's gun (``Race.start_time``).
    """

    ORGANIZER_PATH = "wave__race__event__organizer"

    wave = models.ForeignKey(Wave, on_delete=models.CASCADE, related_name="entries")
    registration = models.OneToOneField(
        Registration, on_delete=models.CASCADE, related_name="wave_entry"
    )

    class Meta:
        verbose_name_plural = "wave entries"

    def __str__(self) -> str:
        return f"{self.registration_id} in {self.wave}"


class ChipMapping(models.Model):
    """Which bib a timing chip belongs to, per event (decoders read chips, not bibs)."""

    ORGANIZER_PATH = "event__organizer"

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="chip_mappings")
    chip = models.CharField(max_length=64)
    bib = models.CharField(max_length=20)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "chip"], name="chip_once_per_event")
        ]
        indexes = [models.Index(fields=["event", "bib"])]

    def __str__(self) -> str:
        return f"{self.chip} → {self.bib}"


class TimingRead(models.Model):
    """One passing of an athlete (or of an unknown chip) at a timing point."""

    ORGANIZER_PATH = "race__event__organizer"

    class Source(models.TextChoices):
        CHIP_FILE = "chip_file", "Timing equipment file"
        PUSH = "push", "Live push"
        MANUAL = "manual", "Manual entry"
        GPS = "gps", "GPS crossing"

    id = models.BigAutoField(primary_key=True)
    race = models.ForeignKey(Race, on_delete=models.CASCADE, related_name="timing_reads")
    point = models.ForeignKey(TimingPoint, on_delete=models.PROTECT, related_name="reads")
    # Null while the bib or chip matches no entry (yet): kept, shown, matched later.
    registration = models.ForeignKey(
        Registration,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="timing_reads",
    )
    bib = models.CharField(max_length=20, blank=True)
    chip = models.CharField(max_length=64, blank=True)
    time = models.DateTimeField(help_text="When the athlete passed (UTC, to the millisecond).")
    source = models.CharField(max_length=10, choices=Source.choices)
    # The sender's id of the read (a decoder's passing number, a GPS crossing's key):
    # the same read sent twice is stored once.
    source_read_id = models.CharField(max_length=100, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # A pushed read's sender (no user sends those): the audit trail names the token.
    token = models.ForeignKey(
        "results.TimingToken", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    ignored = models.BooleanField(default=False)
    ignore_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["time"]
        constraints = [
            models.UniqueConstraint(
                fields=["race", "source", "source_read_id"],
                condition=~models.Q(source_read_id=""),
                name="timing_read_once_per_source",
            )
        ]
        indexes = [
            models.Index(fields=["race", "registration"]),
            models.Index(fields=["race", "point", "time"]),
        ]

    def __str__(self) -> str:
        who = self.bib or self.chip or self.registration_id
        return f"{who} at {self.point_id} {self.time:%H:%M:%S.%f}"
