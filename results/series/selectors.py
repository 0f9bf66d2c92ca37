"""Reads for a series' standings page: six queries whatever the series' size."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.paginator import Page as DjangoPage
from django.core.paginator import Paginator
from django.http import Http404

from events.access import EDIT_ROLES, has_role_for
from events.models import Race, RaceCategory
from results.models import ResultsPublication, Series, SeriesStanding
from results.series.scoring import OVERALL

PER_PAGE = 100
SEXES = {"F": "Women", "M": "Men", "X": "Non-binary"}
_RACE_FIELDS = (
    "name", "slug", "start_time", "event__name", "event__slug", "event__place",
    "event__timezone", "results_publication__state",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Cell:
    """One race's part of an athlete's standing (empty when they did not finish it)."""

    rank: int | None = None
    points: int | None = None
    counted: bool = False


@dataclass
class SeriesPage:
    series: Series
    races: list[Race]
    scopes: list[tuple[str, str]]  # (scope, label), overall first
    scope: str
    listing: DjangoPage[SeriesStanding]
    rows: list[tuple[SeriesStanding, list[Cell]]] = field(default_factory=list)

    @property
    def scope_label(self) -> str:
        return dict(self.scopes).get(self.scope, "Overall")

    @property
    def provisional(self) -> bool:
        """Whether a race's results the standings count are not yet official."""
        return any(not _official(race) for race in self.races)


def _official(race: Race) -> bool:
    publication = getattr(race, "results_publication", None)
    return publication is not None and publication.state == ResultsPublication.State.OFFICIAL


def series_of(*, slug: str, user: Any) -> Series:
    """The series of a standings URL, or 404 (unknown, or not public to a stranger)."""
    series = Series.objects.filter(slug=slug).first()
    if series is None or not (series.is_public or has_role_for(user, series, EDIT_ROLES)):
        raise Http404("No such series")
    return series


def scopes_of(series: Series, races: list[Race]) -> list[tuple[str, str]]:
    """The standings the series has, labelled: overall, by sex, by category."""
    stored = set(
        SeriesStanding.objects.filter(series=series).values_list("scope", flat=True).distinct()
    )
    names = dict(
        RaceCategory.objects.filter(race__in=races).order_by("race__start_time")
        .values_list("code", "name")
    )  # fmt: skip
    labels: dict[str, str] = {OVERALL: "Overall"}
    labels |= {f"sex:{code}": label for code, label in SEXES.items()}
    labels |= {f"cat:{code}": name for code, name in names.items()}
    ordered = sorted(stored, key=lambda s: (s != OVERALL, not s.startswith("sex:"), s))
    return [(scope, labels.get(scope, scope.partition(":")[2])) for scope in ordered]


def series_page(*, slug: str, user: Any, scope: str = OVERALL, page: str = "1") -> SeriesPage:
    """The standings page: ``scope``'s standing, ``PER_PAGE`` athletes of it a page."""
    series = series_of(slug=slug, user=user)
    races = list(
        Race.objects.filter(series_races__series=series)
        .select_related("event", "results_publication")
        .only(*_RACE_FIELDS)
        .order_by("start_time", "pk")
    )
    scopes = scopes_of(series, races)
    if scope not in dict(scopes):
        scope = OVERALL
    standings = SeriesStanding.objects.filter(series=series, scope=scope).order_by("rank", "name")
    listing = Paginator(standings, PER_PAGE).get_page(page)
    result = SeriesPage(series=series, races=races, scopes=scopes, scope=scope, listing=listing)
    for row in listing:
        by_race = {d["race"]: Cell(d["rank"], d["points"], d["counted"]) for d in row.detail}
        result.rows.append((row, [by_race.get(race.pk, Cell()) for race in races]))
    return result
