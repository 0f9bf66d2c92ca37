"""The organizer dashboard: entries and revenue per day, totals and places left per race.

Counts and revenue are of confirmed entries, by the day they were taken (UTC);
revenue is the sum of their prices, kept apart per currency. Scoped to the
user's organizers; platform staff see every event.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Prefetch, Q, Sum
from django.db.models.functions import TruncDate
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import timezone

from events.access import scope_to_user
from events.models import Event, Race, Registration
from events.pricing import money
from events.registration import places_left

DAYS = 60
CONFIRMED = Registration.Status.CONFIRMED


@dataclass(frozen=True)
class Bar:
    day: dt.date
    value: Decimal | int
    x: int
    y: float
    height: float


@dataclass(frozen=True)
class Chart:
    """A bar per day, laid out for an SVG of ``width`` by ``height`` (no JavaScript)."""

    bars: list[Bar]
    peak: Decimal | int
    width: int
    height: int
    bar_width: int


def bar_chart(series: list[tuple[dt.date, Decimal | int]], *, height: int = 80) -> Chart:
    bar_width = 8
    peak = max((value for _, value in series), default=0)
    bars = []
    for i, (day, value) in enumerate(series):
        h = float(value) / float(peak) * height if peak else 0.0
        h = max(h, 1.0) if value else 0.0  # a single entry still shows
        bars.append(Bar(day=day, value=value, x=i * bar_width, y=height - h, height=h))
    return Chart(
        bars=bars, peak=peak, width=len(series) * bar_width, height=height, bar_width=bar_width
    )


@dataclass
class RaceLine:
    race: Race
    confirmed: int
    places_left: int | None


@dataclass
class EventDashboard:
    event: Event
    confirmed: int = 0
    pending: int = 0
    unverified: int = 0
    cancelled: int = 0
    revenue: dict[str, Decimal] = field(default_factory=dict)
    entries_chart: Chart | None = None
    revenue_charts: dict[str, Chart] = field(default_factory=dict)
    races: list[RaceLine] = field(default_factory=list)


def _days(today: dt.date, days: int) -> list[dt.date]:
    return [today - dt.timedelta(days=n) for n in range(days - 1, -1, -1)]


def _per_day(events: list[Event], since: dt.date) -> dict[int, dict[str, Any]]:
    """``{event_id: {"entries": {day: n}, "revenue": {currency: {day: amount}}}}``."""
    rows = (
        Registration.objects.filter(event__in=events, status=CONFIRMED, created_at__date__gte=since)
        .annotate(day=TruncDate("created_at"))
        .values("event_id", "day", "currency")
        .annotate(n=Count("id"), amount=Sum("price"))
    )
    out: dict[int, dict[str, Any]] = defaultdict(
        lambda: {"entries": defaultdict(int), "revenue": defaultdict(dict)}
    )
    for row in rows:
        days = out[row["event_id"]]
        days["entries"][row["day"]] += row["n"]
        days["revenue"][row["currency"]][row["day"]] = money(row["amount"])
    return out


def _totals(dashboards: dict[int, EventDashboard]) -> None:
    rows = (
        Registration.objects.filter(event__in=list(dashboards))
        .values("event_id", "status", "currency")
        .annotate(n=Count("id"), amount=Sum("price"))
    )
    for row in rows:
        board = dashboards[row["event_id"]]
        setattr(board, row["status"], getattr(board, row["status"]) + row["n"])
        if row["status"] == CONFIRMED:
            board.revenue[row["currency"]] = money(row["amount"])


def _race_lines(event: Event) -> list[RaceLine]:
    return [
        # n_confirmed: annotated by the races' prefetch in this module.
        RaceLine(race=race, confirmed=race.n_confirmed, places_left=places_left(race=race))  # type: ignore[attr-defined]
        for race in event.races.all()
    ]


def event_dashboards(
    *, user: Any, today: dt.date | None = None, days: int = DAYS
) -> list[EventDashboard]:
    """Every event the user may see that is upcoming or ended within the charted days."""
    today = today or timezone.localdate()
    since = today - dt.timedelta(days=days - 1)
    races = Race.objects.annotate(
        n_confirmed=Count("registrations", filter=Q(registrations__status=CONFIRMED))
    ).order_by("start_time", "name")
    events = list(
        scope_to_user(Event.objects.filter(end_date__gte=since), user)
        .select_related("organizer")
        .prefetch_related(Prefetch("races", queryset=races))
        .order_by("start_date", "name")
    )
    boards = {event.pk: EventDashboard(event=event) for event in events}
    _totals(boards)
    per_day = _per_day(events, since)
    calendar = _days(today, days)
    for event in events:
        board, series = boards[event.pk], per_day[event.pk]
        board.entries_chart = bar_chart([(d, series["entries"].get(d, 0)) for d in calendar])
        board.revenue_charts = {
            currency: bar_chart([(d, amounts.get(d, money(0))) for d in calendar])
            for currency, amounts in sorted(series["revenue"].items())
        }
        board.races = _race_lines(event)
    return list(boards.values())


def dashboard_view(request: HttpRequest, *, admin_context: dict[str, Any]) -> TemplateResponse:
    context = {
        **admin_context,
        "title": "Entries dashboard",
        "days": DAYS,
        "boards": event_dashboards(user=request.user),
    }
    return TemplateResponse(request, "admin/events/dashboard.html", context)
