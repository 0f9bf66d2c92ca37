"""Reads for the marketplace pages, each with a bounded number of queries."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Exists, Min, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone

from events.access import EDIT_ROLES, has_role_for
from events.models import Course, Event, Organizer, Race
from pace.lib.textfold import folded

LISTING_RACE_FIELDS = ["id", "event_id", "name", "slug", "distance_m", "entry_fee", "start_time"]


_MIN_FEE = (
    Race.objects.filter(event=OuterRef("pk"))
    .order_by()
    .values("event")
    .annotate(fee=Min("entry_fee"))
    .values("fee")
)


def _listing(qs: QuerySet[Event]) -> QuerySet[Event]:
    return (
        qs.select_related("organizer")
        .defer("description", "organizer__description")
        # A correlated subquery, not a join: only the rows of the page are aggregated, and
        # the filter, count and sort run on events alone.
        .annotate(min_fee=Subquery(_MIN_FEE))
        .prefetch_related(
            Prefetch(
                "races",
                queryset=Race.objects.only(*LISTING_RACE_FIELDS).order_by("-distance_m"),
            )
        )
    )


def event_search(*, filters: dict[str, Any]) -> QuerySet[Event]:
    """Published events matching the marketplace filters; upcoming ones unless dated."""
    qs = Event.objects.listed()
    today = timezone.localdate()
    qs = qs.filter(end_date__gte=filters.get("date_from") or today)
    if filters.get("date_to"):
        qs = qs.filter(start_date__lte=filters["date_to"])
    if filters.get("sport"):
        qs = qs.filter(sport=filters["sport"])
    if filters.get("country"):
        qs = qs.filter(country=filters["country"])
    # Case and accents ignored, both sides folded by the database's own rule: "zurich"
    # finds Zürich (pace.lib.textfold).
    if filters.get("place"):
        place = folded(filters["place"])
        qs = qs.filter(Q(place__fold__contains=place) | Q(region__fold__contains=place))
    if filters.get("q"):
        text = folded(filters["q"])
        qs = qs.filter(
            Q(name__fold__contains=text)
            | Q(place__fold__contains=text)
            | Q(organizer__name__fold__contains=text)
            | Q(summary__fold__contains=text)
        )
    lo, hi = filters.get("distance_min"), filters.get("distance_max")
    if lo is not None or hi is not None:
        races = Race.objects.filter(event=OuterRef("pk"))
        if lo is not None:
            races = races.filter(distance_m__gte=lo * 1000)
        if hi is not None:
            races = races.filter(distance_m__lte=hi * 1000)
        qs = qs.filter(Exists(races))
    return _listing(qs).order_by("start_date", "name", "pk")


def upcoming_events(*, limit: int) -> list[Event]:
    return list(event_search(filters={})[:limit])


def event_for_page(*, slug: str, user: Any) -> Event:
    """An event with its races, courses and split points; drafts only for their organizer."""
    races = Race.objects.select_related("course").defer("course__gpx", "course__line")
    qs = (
        Event.objects.select_related("organizer")
        .prefetch_related(
            Prefetch("races", queryset=races.prefetch_related("course__split_points")),
            "races__categories",
        )
        .filter(slug=slug)
    )
    event = qs.first()
    if event is None or (not event.is_public and not has_role_for(user, event, EDIT_ROLES)):
        raise Http404("No such event")
    return event


def organizer_for_page(*, slug: str) -> tuple[Organizer, list[Event], list[Event]]:
    """An organizer with its upcoming and past published events."""
    organizer = Organizer.objects.filter(slug=slug).first()
    if organizer is None:
        raise Http404("No such organizer")
    today = timezone.localdate()
    events = list(_listing(Event.objects.listed().filter(organizer=organizer)))
    upcoming = [e for e in events if e.end_date >= today]
    past = sorted((e for e in events if e.end_date < today), key=lambda e: e.start_date)[::-1]
    return organizer, upcoming, past


def course_for_download(*, course_id: int, user: Any) -> Course:
    """A course used by a public event, or one of the user's organizer's courses."""
    course = Course.objects.filter(pk=course_id).first()
    if course is None:
        raise Http404("No such course")
    public = Race.objects.filter(course=course, event__in=Event.objects.published()).exists()
    if not public and not has_role_for(user, course, EDIT_ROLES):
        raise Http404("No such course")
    return course


def sport_counts(*, since: dt.date | None = None) -> dict[str, int]:
    """How many upcoming published events each sport has, for the home page."""
    from django.db.models import Count

    qs = Event.objects.listed().filter(end_date__gte=since or timezone.localdate())
    return dict(qs.values_list("sport").annotate(n=Count("id")).order_by())
