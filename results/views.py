"""Public results pages: thin views over ``results.selectors`` and ``results.presenting``.

Every page of a race is cached for anonymous visitors by ``results.caching`` (keyed by
the race's results as well as the site-wide version), so a live race's page follows
its reads within seconds without retiring any other cached page.
"""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django_countries.fields import Country

from events.models import Registration
from pace.lib.auth import AuthenticatedHttpRequest
from results import formatting, presenting, selectors, seo, tables
from results.caching import cached_results_page, race_table_for
from results.certificate import Certificate, certificate_pdf
from results.editions import year_on_year
from results.filters import ResultsFilters
from results.models import Result
from results.statistics import race_statistics
from results.templatetags.results_tags import ordinal
from tracking.models import Position

PAGE_SIZE = 100
PARAMS = frozenset({"q", "category", "sex", "sort", "page"})
SEXES = [(value, label) for value, label in Registration.Sex.choices]
TRACE_POINTS = 2000


def _page(request: HttpRequest, event_slug: str, race_slug: str) -> selectors.RacePage:
    return selectors.race_page(event_slug=event_slug, race_slug=race_slug, user=request.user)


@cached_results_page(params=PARAMS)
def race_results(request: HttpRequest, event_slug: str, race_slug: str) -> HttpResponse:
    page = _page(request, event_slug, race_slug)
    categories = selectors.categories_of(page.race)
    form = ResultsFilters(request.GET, categories=categories)
    context: dict[str, Any] = {
        "page": page,
        "categories": categories,
        "sexes": SEXES,
        "speed": formatting.uses_speed(page.event.sport),
        "series": selectors.race_series(page.race),
    }
    if not form.is_valid():
        # Said, not ignored: a filter that is dropped silently shows everyone under a
        # heading that claims a filter (as the marketplace's do).
        context |= {"filters": form.shown(), "invalid": form.reasons(), "filtered": True}
        context["json_ld"] = seo.results_json_ld(page, [])
        return render(request, "results/race.html", context, status=400)
    filters = form.filters()
    listing = tables.results_listing(
        race_table_for(request, page), page=form.cleaned_data["page"], per_page=PAGE_SIZE,
        **filters,
    )  # fmt: skip
    athlete_url = reverse("results:athlete", args=[page.event.slug, page.race.slug, "0"])
    table = presenting.table_rows(
        cast(list[tuple[Any, ...]], list(listing)),
        athlete_url=athlete_url[: -len("0/")] + "{bib}/",
        distance_m=page.distance_m, sport=page.event.sport,
    )  # fmt: skip
    query = request.GET.copy()
    query.pop("page", None)
    without_sort = query.copy()
    without_sort.pop("sort", None)
    filtered = any(filters[k] for k in ("q", "category", "sex")) or filters["sort"] != "rank"
    leaders = [] if filtered or listing.number > 1 else [r for r in table if r["rank"]][:10]
    context |= {
        "listing": listing,
        "rows": table,
        "rows_html": presenting.table_html(table),
        "filters": filters,
        "filtered": filtered,
        "query": query.urlencode(),
        "sort_query": without_sort.urlencode(),
        "json_ld": seo.results_json_ld(page, leaders),
    }
    return render(request, "results/race.html", context)


@cached_results_page()
def athlete(request: HttpRequest, event_slug: str, race_slug: str, bib: str) -> HttpResponse:
    page = _page(request, event_slug, race_slug)
    result = selectors.athlete_result(page=page, bib=bib)
    points = selectors.timing_points(page.race)
    ranks = {}
    if points:
        ranks = tables.ranks_at_points(race_table_for(request, page), result=result, points=points)
    sport = page.event.sport
    splits = presenting.split_rows(result=result, points=points, ranks=ranks, sport=sport)
    has_trace = Position.objects.filter(race=page.race, registration=result.registration).exists()
    context = {
        "page": page,
        "result": result,
        "entry": result.registration,
        "splits": splits,
        "chart": presenting.pace_chart(splits, sport=sport),
        "pace": formatting.pace_or_speed(result.chip_time_ms, page.distance_m, sport=sport),
        "speed": formatting.uses_speed(sport),
        "has_trace": has_trace,
        "map_tiles": {"url": settings.MAP_TILE_URL, "attribution": settings.MAP_TILE_ATTRIBUTION},
        "json_ld": seo.athlete_json_ld(page, result),
    }
    return render(request, "results/athlete.html", context)


@cached_results_page()
def athlete_trace(request: HttpRequest, event_slug: str, race_slug: str, bib: str) -> JsonResponse:
    """The athlete's GPS fixes as ``[[lat, lon], ...]``, thinned to ``TRACE_POINTS``."""
    page = _page(request, event_slug, race_slug)
    result = selectors.athlete_result(page=page, bib=bib)
    fixes = list(
        Position.objects.filter(race=page.race, registration=result.registration)
        .order_by("t")
        .values_list("lat", "lon")
    )
    step = max(1, -(-len(fixes) // TRACE_POINTS))
    thinned = fixes[::step]
    if fixes and thinned[-1] != fixes[-1]:
        thinned.append(fixes[-1])
    return JsonResponse({"trace": [[round(a, 6), round(b, 6)] for a, b in thinned]})


@cached_results_page()
def certificate(request: HttpRequest, event_slug: str, race_slug: str, bib: str) -> HttpResponse:
    """A finisher's certificate (PDF); nobody else gets one."""
    page = _page(request, event_slug, race_slug)
    result = selectors.athlete_result(page=page, bib=bib)
    if result.status != Result.Status.FINISHED:
        raise Http404("Only finishers get a certificate")
    finishers = Result.objects.filter(race=page.race, status=Result.Status.FINISHED).count()
    pdf = certificate_pdf(_certificate(page, result, finishers))
    response = HttpResponse(pdf, content_type="application/pdf")
    name = f"certificate-{page.event.slug}-{page.race.slug}-{bib}.pdf"
    response["Content-Disposition"] = f'inline; filename="{name}"'
    return response


def _certificate(page: selectors.RacePage, result: Result, finishers: int) -> Certificate:
    entry, event, race = result.registration, page.event, page.race
    ranks = [f"{ordinal(result.rank_overall)} of {finishers} finishers"]
    if result.rank_sex:
        ranks.append(f"{ordinal(result.rank_sex)} {Registration.Sex(result.sex).label.lower()}")
    if result.rank_category and result.category:
        ranks.append(f"{ordinal(result.rank_category)} {result.category.name}")
    local = race.start_time.astimezone(event.local_tz)
    return Certificate(
        athlete=entry.name,
        event=event.name,
        race=race.name,
        date=f"{local:%A} {local.day} {local:%B %Y}",
        place=f"{event.place}, {cast(Country, event.country).name}",  # the stubs say str
        distance=f"{page.distance_m / 1000:g} km" if page.distance_m else "",
        time=formatting.duration(result.chip_time_ms),
        rank_line=" · ".join(ranks),
        official=page.official,
        site=settings.SITE_URL.split("://", 1)[-1],
    )


@cached_results_page()
def statistics(request: HttpRequest, event_slug: str, race_slug: str) -> HttpResponse:
    page = _page(request, event_slug, race_slug)
    context = {
        "page": page,
        "stats": race_statistics(page),
        "editions": year_on_year(page.race, page.event),
    }
    return render(request, "results/statistics.html", context)


@login_required
def my_results(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The signed-in athlete's results across the races they entered."""
    results = selectors.my_results(user=request.user)
    finished = (
        Result.objects.filter(
            race_id__in={r.race_id for r in results}, status=Result.Status.FINISHED
        )
        .values_list("race_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts: dict[int, int] = dict(finished)
    for result in results:
        result.finishers = counts.get(result.race_id, 0)  # type: ignore[attr-defined]
        result.url = _athlete_url(result)  # type: ignore[attr-defined]
    return render(request, "results/mine.html", {"results": results})


def _athlete_url(result: Result) -> str | None:
    race, bib = result.race, result.registration.bib
    if not bib:
        return None  # an athlete's page is found by bib
    return seo.athlete_path(race.event.slug, race.slug, bib)
