"""The catalogue: organizers, their members, events, races and courses.

Every model an organizer owns names the path to its organizer in
``ORGANIZER_PATH``; ``events.access.scope_to_user`` and the admin's
``OrganizerScopedAdmin`` use it, so scoping is written once.
"""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django_countries.fields import CountryField


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a time zone name such as Europe/Paris.")


class Organizer(models.Model):
    ORGANIZER_PATH = ""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    country = CountryField()
    logo = models.ImageField(upload_to="organizers/", blank=True)
    description = models.TextField(blank=True)
    website = models.URLField(blank=True)
    contact_email = models.EmailField()
    contact_phone = models.CharField(max_length=40, blank=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="organizers"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("events:organizer", args=[self.slug])


class Membership(models.Model):
    ORGANIZER_PATH = "organizer"

    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        ADMIN = "admin", "Admin"
        STAFF = "staff", "Staff"

    organizer = models.ForeignKey(Organizer, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.STAFF)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organizer", "user"], name="one_membership_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()} of {self.organizer})"


class Sport(models.TextChoices):
    RUNNING = "running", "Running"
    TRAIL = "trail", "Trail running"
    CYCLING = "cycling", "Cycling"
    TRIATHLON = "triathlon", "Triathlon"


class PaymentMethod(models.TextChoices):
    """How an event's paid entries are paid (free entries need no payment)."""

    ON_SITE = "on_site", "Pay on site"
    STRIPE = "stripe", "Card, online (Stripe)"


class Course(models.Model):
    """A route from a GPX file: the line, its length, elevation and split points."""

    ORGANIZER_PATH = "organizer"

    organizer = models.ForeignKey(Organizer, on_delete=models.CASCADE, related_name="courses")
    name = models.CharField(max_length=200)
    gpx = models.TextField(help_text="The GPX file as uploaded; served for download.")
    # A file may hold several tracks and routes (a warm-up, the course, the way home);
    # the course is one of them, by its position in the file.
    gpx_track = models.PositiveSmallIntegerField(
        default=0, help_text="Which track or route of the GPX file is the course."
    )
    # [[lon, lat, ele], ...], simplified to within a few metres of the GPX track.
    line = models.JSONField(default=list)
    distance_m = models.FloatField()
    elevation_gain_m = models.FloatField(default=0)
    elevation_loss_m = models.FloatField(default=0)
    min_elevation_m = models.FloatField(null=True, blank=True)
    max_elevation_m = models.FloatField(null=True, blank=True)
    # [[distance_m, ele], ...] sampled evenly for the profile chart.
    profile = models.JSONField(default=list)
    bbox = models.JSONField(default=list)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.distance_m / 1000:.1f} km)"


class SplitPoint(models.Model):
    """A named point at a distance along a course (a timing mat, an aid station)."""

    ORGANIZER_PATH = "course__organizer"

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="split_points")
    name = models.CharField(max_length=100)
    distance_m = models.FloatField(validators=[MinValueValidator(0)])

    class Meta:
        ordering = ["distance_m"]
        constraints = [
            models.UniqueConstraint(fields=["course", "name"], name="split_name_unique_per_course")
        ]

    def __str__(self) -> str:
        return f"{self.name} @ {self.distance_m / 1000:.2f} km"


# How far back a chain of editions is followed (a yearly event's century).
MAX_EDITIONS = 100


class EventQuerySet(models.QuerySet["Event"]):
    def published(self) -> EventQuerySet:
        return self.filter(status__in=[Event.Status.PUBLISHED, Event.Status.CANCELLED])

    def listed(self) -> EventQuerySet:
        """Published events that belong in listings and the sitemap (no load-test data)."""
        return self.published().filter(is_test=False)


class Event(models.Model):
    ORGANIZER_PATH = "organizer"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        CANCELLED = "cancelled", "Cancelled"

    organizer = models.ForeignKey(Organizer, on_delete=models.PROTECT, related_name="events")
    name = models.CharField(max_length=200)
    slug = models.SlugField(
        max_length=120, unique=True, help_text="Used in the event's address: /events/SLUG/"
    )
    sport = models.CharField(max_length=20, choices=Sport.choices)
    summary = models.CharField(max_length=300, blank=True, help_text="One line for listings.")
    description = models.TextField(blank=True)
    start_date = models.DateField()
    end_date = models.DateField()
    place = models.CharField(max_length=200, help_text="Town or venue")
    region = models.CharField(max_length=200, blank=True)
    country = CountryField()
    latitude = models.FloatField(validators=[MinValueValidator(-90), MaxValueValidator(90)])
    longitude = models.FloatField(validators=[MinValueValidator(-180), MaxValueValidator(180)])
    timezone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_timezone],
        help_text="IANA time zone of the venue, e.g. Europe/Paris; start times show in it.",
    )
    currency = models.CharField(max_length=3, default="EUR")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    cover_image = models.ImageField(upload_to="events/", blank=True)
    website = models.URLField(blank=True)
    payment_method = models.CharField(
        max_length=10,
        choices=PaymentMethod.choices,
        default=PaymentMethod.ON_SITE,
        help_text="How athletes pay entries that cost money; free entries need no payment.",
    )
    registration_open = models.BooleanField(default=True)
    allow_transfers = models.BooleanField(
        default=False, help_text="Athletes may pass their entry to someone else."
    )
    allow_cancellation = models.BooleanField(
        default=False, help_text="Athletes may cancel their entry themselves."
    )
    changes_until = models.DateField(
        null=True, blank=True, help_text="Last day for transfers and cancellations."
    )
    waiver = models.TextField(
        blank=True,
        default="I am fit to take part, I accept the race rules and I take part at my own risk.",
    )
    is_test = models.BooleanField(
        default=False, help_text="Load-test data (create_test_race): reachable, never listed."
    )
    previous_edition = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="next_editions",
        help_text="Last year's event (or the one before this in the series), of the same "
        "organizer: its results are compared with this one's, year on year.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = ["start_date", "name"]
        indexes = [
            models.Index(fields=["status", "start_date"]),
            models.Index(fields=["sport", "start_date"]),
            models.Index(fields=["country", "start_date"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_date__gte=models.F("start_date")),
                name="event_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("events:detail", args=[self.slug])

    @property
    def local_tz(self) -> zoneinfo.ZoneInfo:
        """The venue's time zone (UTC if the stored name is unknown to this system)."""
        from events.localtime import zone_named

        return zone_named(self.timezone) or zoneinfo.ZoneInfo("UTC")

    @property
    def is_public(self) -> bool:
        return self.status != self.Status.DRAFT

    def clean(self) -> None:
        super().clean()
        self._clean_previous_edition()

    def _clean_previous_edition(self) -> None:
        """An edition follows an earlier event of the same organizer, with no loop."""
        previous = self.previous_edition
        if previous is None:
            return
        problem = ""
        if self.pk is not None and previous.pk == self.pk:
            problem = "An event cannot be its own previous edition."
        elif previous.organizer_id != self.organizer_id:
            problem = "The previous edition must be an event of the same organizer."
        elif self.start_date is not None and previous.start_date >= self.start_date:
            problem = "The previous edition must start before this one."
        else:
            seen = {self.pk}
            step: Event | None = previous
            for _ in range(MAX_EDITIONS):
                if step is None:
                    break
                if step.pk in seen:
                    problem = "Those editions would follow each other in a loop."
                    break
                seen.add(step.pk)
                step = step.previous_edition
        if problem:
            raise ValidationError({"previous_edition": problem})


class Race(models.Model):
    """One distance of an event, with its own start, capacity and course."""

    ORGANIZER_PATH = "event__organizer"

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="races")
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100)
    distance_m = models.PositiveIntegerField(
        help_text="Official distance in metres (taken from the course when left empty).",
        null=True,
        blank=True,
    )
    elevation_gain_m = models.PositiveIntegerField(null=True, blank=True)
    start_time = models.DateTimeField()
    time_limit = models.DurationField(null=True, blank=True)
    capacity = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: no limit.")
    entry_fee = models.DecimalField(
        max_digits=8, decimal_places=2, default=0, validators=[MinValueValidator(0)]
    )
    course = models.ForeignKey(
        Course, on_delete=models.SET_NULL, null=True, blank=True, related_name="races"
    )
    description = models.TextField(blank=True)
    team_size = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(20)],
        help_text="1 for individual entries; more for team and relay entries (one payer).",
    )
    bib_from = models.PositiveIntegerField(null=True, blank=True, help_text="First bib number.")
    bib_to = models.PositiveIntegerField(null=True, blank=True, help_text="Last bib number.")

    class Meta:
        ordering = ["start_time", "-distance_m"]
        constraints = [
            models.UniqueConstraint(fields=["event", "slug"], name="race_slug_unique_per_event")
        ]
        indexes = [models.Index(fields=["distance_m"])]

    def __str__(self) -> str:
        return f"{self.event.name}: {self.name}"

    def clean(self) -> None:
        if self.bib_from is not None and self.bib_to is not None and self.bib_to < self.bib_from:
            raise ValidationError({"bib_to": "The last bib is below the first one."})
        if (self.bib_from is None) != (self.bib_to is None):
            raise ValidationError({"bib_to": "Give both ends of the bib range, or neither."})
        # Someone in two organizers sees both's courses: one organizer's race never draws
        # (nor leaks the split points of) another's course.
        event = self.event if Race.event.is_cached(self) or self.event_id else None
        if (
            event is not None
            and self.course is not None  # no query without a course_id
            and self.course.organizer_id != event.organizer_id
        ):
            raise ValidationError({"course": "Choose a course of this event's organizer."})

    @property
    def distance_km(self) -> float | None:
        return None if self.distance_m is None else self.distance_m / 1000


class RaceCategory(models.Model):
    """A ranking category of a race (age group and sex)."""

    ORGANIZER_PATH = "race__event__organizer"

    class Sex(models.TextChoices):
        ANY = "", "Any"
        FEMALE = "F", "Female"
        MALE = "M", "Male"
        OTHER = "X", "Non-binary"

    race = models.ForeignKey(Race, on_delete=models.CASCADE, related_name="categories")
    code = models.CharField(max_length=20)
    name = models.CharField(max_length=100)
    sex = models.CharField(max_length=1, choices=Sex.choices, blank=True, default="")
    min_age = models.PositiveSmallIntegerField(null=True, blank=True)
    max_age = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "race categories"
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["race", "code"], name="category_code_unique_per_race")
        ]

    def __str__(self) -> str:
        return self.name
