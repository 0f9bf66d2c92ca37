"""Entries: registrations, their questions, prices, codes, teams and the waitlist."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django_countries.fields import CountryField

from events.models.catalog import Event, Race, RaceCategory

# No one alive was born before it: an earlier date is a typo (1800 for 1980), and would put
# the athlete in a category of 120-year-olds.
EARLIEST_BIRTH_DATE = dt.date(1900, 1, 1)


def validate_birth_date(value: dt.date) -> None:
    if value < EARLIEST_BIRTH_DATE:
        raise ValidationError(
            "Enter a birth date in %(year)s or later.",
            code="implausible",
            params={"year": EARLIEST_BIRTH_DATE.year},
        )


class RaceQuestion(models.Model):
    """A question the organizer asks on a race's entry form."""

    ORGANIZER_PATH = "race__event__organizer"

    class Kind(models.TextChoices):
        TEXT = "text", "Text"
        CHOICE = "choice", "Choice"
        YES_NO = "yes_no", "Yes / no"

    race = models.ForeignKey(Race, on_delete=models.CASCADE, related_name="questions")
    label = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.TEXT)
    choices = models.TextField(blank=True, help_text="For choice questions: one option a line.")
    required = models.BooleanField(default=False)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.label

    @property
    def options(self) -> list[str]:
        return [line.strip() for line in self.choices.splitlines() if line.strip()]


class Registration(models.Model):
    """An athlete's entry in a race."""

    ORGANIZER_PATH = "race__event__organizer"

    class Status(models.TextChoices):
        PENDING = "pending", "Awaiting payment"
        # A guest's entry holds its place only until the e-mail's link is followed.
        UNVERIFIED = "unverified", "Awaiting e-mail confirmation"
        CONFIRMED = "confirmed", "Confirmed"
        CANCELLED = "cancelled", "Cancelled"

    class Sex(models.TextChoices):
        FEMALE = "F", "Female"
        MALE = "M", "Male"
        OTHER = "X", "Non-binary"

    class Size(models.TextChoices):
        XS = "XS", "XS"
        S = "S", "S"
        M = "M", "M"
        L = "L", "L"
        XL = "XL", "XL"
        XXL = "XXL", "XXL"

    race = models.ForeignKey(Race, on_delete=models.PROTECT, related_name="registrations")
    # The race's event, kept here so bibs can be unique per event in the database.
    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="registrations")
    team = models.ForeignKey(
        "Team", on_delete=models.SET_NULL, null=True, blank=True, related_name="members"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="registrations",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    email = models.EmailField()
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    birth_date = models.DateField(validators=[validate_birth_date])
    sex = models.CharField(max_length=1, choices=Sex.choices)
    nationality = CountryField()
    club = models.CharField(max_length=200, blank=True)
    emergency_name = models.CharField("emergency contact", max_length=200)
    emergency_phone = models.CharField("emergency phone", max_length=40)
    tshirt_size = models.CharField("T-shirt size", max_length=3, choices=Size.choices, blank=True)
    category = models.ForeignKey(
        RaceCategory, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    answers = models.JSONField(default=dict, blank=True)
    bib = models.CharField(max_length=20, blank=True)
    list_price = models.DecimalField(max_digits=8, decimal_places=2, default=0)
    discount_code = models.ForeignKey(
        "DiscountCode", on_delete=models.PROTECT, null=True, blank=True, related_name="uses"
    )
    price = models.DecimalField(max_digits=8, decimal_places=2)
    currency = models.CharField(max_length=3)
    payment_method = models.CharField(max_length=10, blank=True)
    waiver_accepted_at = models.DateTimeField()
    manage_token = models.CharField(max_length=64, unique=True)
    hold_expires_at = models.DateTimeField(null=True, blank=True)
    # Who sent an entry held for its e-mail or payment, by a guest or an unverified account
    # (ratelimits.ip_digest of their IP, IPv6 by /48, never the IP: it is personal data):
    # one connection may hold only so many at once (ENTRY_HOLDS_PER_IP). Cleared when the
    # e-mailed link is followed.
    entered_from = models.CharField(max_length=64, blank=True, editable=False)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["race", "status"])]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "bib"], condition=~models.Q(bib=""), name="bib_unique_per_event"
            )
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name} ({self.race})"

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class RegistrationChange(models.Model):
    """What happened to an entry after it was taken (transfer, cancellation, bib, check-in)."""

    ORGANIZER_PATH = "registration__race__event__organizer"

    registration = models.ForeignKey(Registration, on_delete=models.CASCADE, related_name="changes")
    kind = models.CharField(max_length=20)
    detail = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.kind} at {self.created_at:%Y-%m-%d %H:%M}"


class PriceTier(models.Model):
    """A price valid until a date (early bird); after the last tier, the race's entry fee."""

    ORGANIZER_PATH = "race__event__organizer"

    race = models.ForeignKey(Race, on_delete=models.CASCADE, related_name="price_tiers")
    name = models.CharField(max_length=100)
    price = models.DecimalField(max_digits=8, decimal_places=2, validators=[MinValueValidator(0)])
    until = models.DateTimeField(help_text="This price applies to entries taken before this time.")

    class Meta:
        ordering = ["until"]

    def __str__(self) -> str:
        zone = self.race.event.local_tz if self.race_id else None
        return f"{self.name}: {self.price} until {self.until.astimezone(zone):%Y-%m-%d %H:%M}"


class DiscountCode(models.Model):
    ORGANIZER_PATH = "event__organizer"

    class Kind(models.TextChoices):
        PERCENT = "percent", "Percentage"
        FIXED = "fixed", "Fixed amount"

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="discount_codes")
    race = models.ForeignKey(
        Race,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="discount_codes",
        help_text="Empty: valid for every race of the event.",
    )
    code = models.CharField(max_length=40)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PERCENT)
    amount = models.DecimalField(
        max_digits=8,
        decimal_places=2,
        validators=[MinValueValidator(0)],
        help_text="Percent off, or money off in the event's currency.",
    )
    max_uses = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: no limit.")
    valid_until = models.DateTimeField(null=True, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "code"], name="discount_code_unique_per_event")
        ]

    def __str__(self) -> str:
        return self.code

    def clean(self) -> None:
        if (
            self.event_id is not None
            and self.race is not None  # no query without a race_id
            and self.race.event_id != self.event_id
        ):
            raise ValidationError({"race": "Choose a race of this code's event."})


class Team(models.Model):
    """A team or relay entry: its members are registrations, the first one pays."""

    ORGANIZER_PATH = "race__event__organizer"

    race = models.ForeignKey(Race, on_delete=models.PROTECT, related_name="teams")
    name = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class WaitlistEntry(models.Model):
    """Someone waiting for a place in a full race; a freed place is offered for a while."""

    ORGANIZER_PATH = "race__event__organizer"

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting"
        OFFERED = "offered", "Place offered"
        ACCEPTED = "accepted", "Accepted"
        EXPIRED = "expired", "Offer expired"
        WITHDRAWN = "withdrawn", "Withdrawn"

    race = models.ForeignKey(Race, on_delete=models.CASCADE, related_name="waitlist")
    email = models.EmailField()
    name = models.CharField(max_length=200)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING)
    offer_token = models.CharField(max_length=64, unique=True, null=True, blank=True)
    offer_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "waitlist entries"
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["race", "status", "created_at"])]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"
