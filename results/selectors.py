"""Reads for the results pages, each with a bounded number of queries (pinned in tests).

Who sees what: a public event's results are public once anyone was timed, provisional
while the race runs and until the organizer publishes them, then official (and
"updated" after a change). A draft event's results are seen by its organizer's
members only, and a race nobody was timed in has no results page at all.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Case, Count, Exists, IntegerField, Max, OuterRef, Q, QuerySet, When
from django.db.models.functions import Length
from django.http import Http404
from django.utils import timezone
from django.utils.functional import cached_property

from events.access import EDIT_ROLES, has_role_for
from events.models import Event, Race, RaceCategory
from results.models import Result, ResultsPublication, Series, TimingPoint

Status = Result.Status
# A race with no time limit is taken as live for this long after its gun.
LIVE_WINDOW = dt.timedelta(hours=24)
TIMED = (Status.RACING, Status.FINISHED, Status.DNF, Status.DSQ)
# Who is listed: anyone with a result, not entries nobody has read yet.
LISTED = (*TIMED, Status.DNS)
STATUS_ORDER = Case(
    *(
        When(status=s, then=i)
        for i, s in enumerate((Status.FINISHED, Status.RACING, Status.DNF, Status.DSQ, Status.DNS))
    ),
    default=9,
    output_field=IntegerField(),
)
_BIB_ORDER = (Length("registration__bib"), "registration__bib")
SORTS: dict[str, tuple[Any, ...]] = {
    "rank": ("status_order", "time_ms", "registration__last_name", "pk"),
    "name": ("registration__last_name", "registration__first_name", "pk"),
    "bib": (*_BIB_ORDER, "pk"),
    "chip": ("status_order", "chip_time_ms", "pk"),
    "gun": ("status_order", "gun_time_ms", "pk"),
}
ROW_FIELDS = (
    "id",
    "race_id",
    "status",
    "sex",
    "category_id",
    "gun_time_ms",
    "chip_time_ms",
    "time_ms",
    "rank_overall",
    "rank_sex",
    "rank_category",
    "dsq_reason",
    "penalty_ms",
    "bonus_ms",
    "registration__id",
    "registration__bib",
    "registration__first_name",
    "registration__last_name",
    "registration__club",
    "registration__nationality",
    "registration__user_id",
    "category__code",
    "category__name",
)


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


def _sorted(listed: QuerySet[Result], *, sort: str, values: tuple[str, ...]) -> QuerySet[Result]:
    """``listed`` with what a row shows, sorted (``-key`` reverses); with ``values``, as
    tuples of those columns rather than model instances."""
    rows = (
        listed.select_related("registration", "category")
        .only(*ROW_FIELDS)
        .annotate(status_order=STATUS_ORDER)
    )
    key = sort.removeprefix("-")
    order = SORTS.get(key, SORTS["rank"])
    if sort.startswith("-") and key in SORTS:
        order = tuple(_reverse(o) for o in order)
    rows = rows.order_by(*order)
    return rows.values_list(*values) if values else rows


def _listed(*, race: Race, q: str, category: str, sex: str) -> QuerySet[Result]:
    rows = Result.objects.filter(race=race, status__in=LISTED)
    if q.strip():
        rows = rows.filter(search_condition(q))
    if category:
        rows = rows.filter(category__code=category)
    if sex:
        rows = rows.filter(sex=sex)
    return rows


class _CountedPaginator(Paginator):  # type: ignore[type-arg]
    """A paginator told its count: counting the sorted, joined rows joins every entry of
    the race (7 ms of a 3,000-athlete race's page); counting results alone does not."""

    def __init__(self, rows: Any, per_page: int, *, count: Callable[[], int]) -> None:
        super().__init__(rows, per_page)
        self._count = count

    @cached_property
    def count(self) -> int:
        return self._count()


def results_listing(
    *,
    race: Race,
    page: str | int | None,
    per_page: int,
    q: str = "",
    category: str = "",
    sex: str = "",
    sort: str = "rank",
    values: tuple[str, ...] = (),
) -> Page:  # type: ignore[type-arg]
    """One page of a race's listed results, searched, filtered and sorted (an out-of-range
    or bad number: the nearest page)."""
    listed = _listed(race=race, q=q, category=category, sex=sex)
    rows = _sorted(listed, sort=sort, values=values)
    return _CountedPaginator(rows, per_page, count=listed.count).get_page(page)


def _reverse(term: Any) -> Any:
    if isinstance(term, str):
        return term[1:] if term.startswith("-") else f"-{term}"
    return term.desc()


def search_condition(q: str) -> Q:
    """Every word in the name or club, or the whole text as the bib."""
    text = q.strip()[:100]
    words = Q()
    for word in text.split()[:5]:
        words &= (
            Q(registration__first_name__icontains=word)
            | Q(registration__last_name__icontains=word)
            | Q(registration__club__icontains=word)
        )
    return words | Q(registration__bib=text)


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


def ranks_at_points(*, result: Result, points: list[TimingPoint]) -> dict[int, int]:
    """The athlete's place at each point they passed, by time from their start (one query)."""
    mine = {p.pk: result.splits.get(f"p{p.pk}") for p in points}
    counts = {
        f"r{pk}": Count("pk", filter=Q(**{f"splits__p{pk}__lt": ms}))
        for pk, ms in mine.items()
        if ms is not None
    }
    if not counts:
        return {}
    found = Result.objects.filter(race_id=result.race_id).aggregate(**counts)
    return {int(key[1:]): value + 1 for key, value in found.items()}


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
