"""Models of events; see ``catalog`` (what is on offer) and ``entries`` (who takes part)."""

from __future__ import annotations

from events.models.catalog import (
    Course,
    Event,
    EventQuerySet,
    Membership,
    Organizer,
    PaymentMethod,
    Race,
    RaceCategory,
    SplitPoint,
    Sport,
)
from events.models.entries import (
    DiscountCode,
    PriceTier,
    RaceQuestion,
    Registration,
    RegistrationChange,
    Team,
    WaitlistEntry,
)

__all__ = [
    "Course",
    "DiscountCode",
    "Event",
    "EventQuerySet",
    "Membership",
    "Organizer",
    "PaymentMethod",
    "PriceTier",
    "Race",
    "RaceCategory",
    "RaceQuestion",
    "Registration",
    "RegistrationChange",
    "SplitPoint",
    "Sport",
    "Team",
    "WaitlistEntry",
]
