"""Reads for the results pages, each with a bounded number of queries (pinned in tests).

Who sees what: a public event's results are public once anyone was timed, provisional
while the race runs and until the organizer publishes them, then official (and
"updated" after a change). A draft event's results are seen by its organizer's
members only, and a race nobody was timed in has no results page at all.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Exists, Max, OuterRef, QuerySet
from django.http import Http404
from django.utils import timezone

from events.access import EDIT_ROLES, has_role_for
from events.models import Event, Race, RaceCategory
from results.models import Result, ResultsPublication, Series, TimingPoint

Status = Result.Status
# A race with no time limit is taken as live for this long after its gun.
LIVE_WINDOW = dt.timedelta(hours=24)
TIMED = (Status.RACING, Status.FINISHED, Status.DNF, Status.DSQ)
# Who is listed: anyone with a result, not entries nobody has read yet.
LISTED = (*TIMED, Status.DNS)


@dataclass
class RacePage:
    """A race as its results pages show it."""

    race: Race
    event: Event
    state: str  # "provisional" or "official"
    changed_at: dt.datetime | None
    live: bool
    distance_m: float | None
    preview: bool  # a draft event, shown to its organizer only
    categories: list[RaceCategory] = field(default_factory=list)

    @property
    def official(self) -> bool:
        return self.state == ResultsPublication.State.OFFICIAL


def _timed(race_ids: Any) -> Exists:
    return Exists(Result.objects.filter(race_id=race_ids, status__in=TIMED))


def timed_race_ids(race_ids: list[int]) -> set[int]:
    """Which of these races have someone timed, so a results page (one query)."""
    rows = Result.objects.filter(race_id__in=race_ids, status__in=TIMED)
    return set(rows.values_list("race_id", flat=True).distinct())


def race_page(
    *, event_slug: str, race_slug: str, user: Any, now: dt.datetime | None = None
) -> RacePage:
    """The race of a results URL, or 404 (unknown, never timed, or a draft for a stranger)."""
    race = (
        Race.objects.select_related(
            "event__organizer", "event__stage_race", "results_publication", "course"
        )
        .defer("event__description", "event__organizer__description", "course__gpx")
        .defer("course__line", "course__profile")
        .annotate(timed=_timed(OuterRef("pk")))
        .filter(event__slug=event_slug, slug=race_slug)
        .first()
    )
    if race is None or not race.timed:
        raise Http404("No results for this race")
    event = race.event
    if not event.is_public and not has_role_for(user, event, EDIT_ROLES):
        raise Http404("No results for this race")
    publication = getattr(race, "results_publication", None)
    state = publication.state if publication else ResultsPublication.State.PROVISIONAL
    now = now or timezone.now()
    end = race.start_time + (race.time_limit or LIVE_WINDOW)
    live = state == ResultsPublication.State.PROVISIONAL and race.start_time <= now <= end
    return RacePage(
        race=race,
        event=event,
        state=state,
        changed_at=publication.changed_at if publication else None,
        live=live,
        distance_m=race_distance(race),
        preview=not event.is_public,
    )


def race_distance(race: Race) -> float | None:
    """What pace is measured over: the official distance, else the course's."""
    if race.distance_m:
        return float(race.distance_m)
    return race.course.distance_m if race.course else None


def categories_of(race: Race) -> list[RaceCategory]:
    return list(RaceCategory.objects.filter(race=race).only("id", "code", "name", "race_id"))


def athlete_result(*, page: RacePage, bib: str) -> Result:
    """One athlete's result by bib, with their entry and category; 404 if none."""
    result = (
        Result.objects.filter(race=page.race, registration__bib=bib)
        .select_related("registration", "category")
        .first()
    )
    if result is None:
        raise Http404("No result for this bib")
    return result


def timing_points(race: Race) -> list[TimingPoint]:
    return list(TimingPoint.objects.filter(race=race).order_by("order", "distance_m"))


def race_stamp(*, event_slug: str, race_slug: str) -> str | None:
    """What changes whenever a race's results do (one query): the page cache's key part."""
    row = (
        Race.objects.filter(event__slug=event_slug, slug=race_slug)
        .annotate(last=Max("results__updated_at"), n=Count("results"))
        .values_list(
            "pk",
            "last",
            "n",
            "results_publication__state",
            "results_publication__published_at",
            "results_publication__changed_at",
        )
        .first()
    )
    if row is None:
        return None
    return hashlib.sha256("|".join(map(str, row)).encode()).hexdigest()[:16]


def my_results(*, user: Any) -> list[Result]:
    """A signed-in athlete's results in every race they entered, newest race first."""
    return list(
        Result.objects.filter(registration__user=user, status__in=LISTED)
        .filter(race__event__status__in=[Event.Status.PUBLISHED, Event.Status.CANCELLED])
        .select_related("race__event", "registration", "category")
        .defer("race__event__description", "race__description")
        .order_by("-race__start_time")
    )


def result_counts(race: Race) -> dict[str, int]:
    """How many results of each status a race has (one query)."""
    rows = Result.objects.filter(race=race).values_list("status").annotate(n=Count("pk"))
    return dict(rows.order_by())


def sitemap_races() -> QuerySet[Race]:
    """Races of listed events with someone timed: the results pages search engines get."""
    return (
        Race.objects.filter(event__in=Event.objects.listed())
        .filter(_timed(OuterRef("pk")))
        .select_related("event")
        .only("slug", "event__slug", "start_time")
        .order_by("pk")
    )


def race_series(race: Race) -> list[Series]:
    """The public series counting this race, linked from its results page (one query)."""
    rows = Series.objects.filter(series_races__race=race, is_public=True).distinct()
    return list(rows.only("name", "slug").order_by("name"))
