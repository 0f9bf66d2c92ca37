"""Recurring events: the editions of an event (``Event.previous_edition``, set by its
organizer) compared year on year.

A race is matched to the same race of each edition by its slug, else by the closest
distance within ``DISTANCE_TOLERANCE`` (a 10K renamed "10 km" is still the 10K; a half
marathon is never compared with the marathon). Two pages use this: a race's statistics
(its editions side by side, public editions only) and the organizer's participation
dashboard in the admin (every edition of their events). Each is a handful of queries
whatever the number of editions.
"""

from __future__ import annotations

import datetime as dt
import statistics as stats
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Count, Q

from events.models import Event, Race, Registration
from events.models.catalog import MAX_EDITIONS
from results.formatting import duration
from results.models import Result
from results.presenting import BarChart, bar_chart

Status = Result.Status
STARTED = (Status.RACING, Status.FINISHED, Status.DNF, Status.DSQ)
DISTANCE_TOLERANCE = 0.05  # a race of another edition within 5 % of the distance is the same
PUBLIC = (Event.Status.PUBLISHED, Event.Status.CANCELLED)
_EVENT_FIELDS = ("pk", "name", "slug", "start_date", "status", "previous_edition_id")


def _chains(events: Iterable[Event]) -> list[list[Event]]:
    """The events grouped into chains of editions (linked either way), each oldest first."""
    by_pk = {e.pk: e for e in events}
    parent: dict[int, int] = {pk: pk for pk in by_pk}

    def root(pk: int) -> int:
        while parent[pk] != pk:
            parent[pk] = parent[parent[pk]]
            pk = parent[pk]
        return pk

    for event in by_pk.values():
        previous = event.previous_edition_id
        if previous in by_pk:
            parent[root(event.pk)] = root(previous)
    groups: dict[int, list[Event]] = defaultdict(list)
    for event in by_pk.values():
        groups[root(event.pk)].append(event)
    chains = [sorted(g, key=lambda e: (e.start_date, e.pk)) for g in groups.values()]
    return sorted(chains, key=lambda c: (-c[-1].start_date.toordinal(), c[-1].name))


def edition_chain(event: Event) -> list[Event]:
    """Every edition of ``event``'s series, oldest first (one query): the organizer's
    events linked to it through ``previous_edition``, backwards and forwards."""
    events = Event.objects.filter(organizer_id=event.organizer_id).only(*_EVENT_FIELDS)
    for chain in _chains(events):
        if any(e.pk == event.pk for e in chain):
            return chain[-MAX_EDITIONS:]
    return [event]


def same_race(race: Race, candidates: Iterable[Race]) -> Race | None:
    """The race of another edition that is ``race``: same slug, else the nearest distance
    within the tolerance."""
    candidates = list(candidates)
    for other in candidates:
        if other.slug == race.slug:
            return other
    metres = race.distance_m or 0
    near = [(abs((other.distance_m or 0) - metres), other.pk, other) for other in candidates]
    near = [n for n in near if metres and n[0] <= DISTANCE_TOLERANCE * metres]
    return min(near, key=lambda t: (t[0], t[1]))[2] if near else None


@dataclass(frozen=True)
class EditionResults:
    """One edition of a race, as the year-on-year table shows it."""

    event: Event
    race: Race
    starters: int
    finishers: int
    dnf: int
    winning_ms: int | None
    median_ms: int | None
    current: bool

    @property
    def label(self) -> str:
        return str(self.race.start_time.astimezone(self.event.local_tz).year)

    @property
    def dnf_rate(self) -> float | None:
        """Starters who did not finish (DNF and DSQ), in percent, as on the statistics."""
        return 100 * self.dnf / self.starters if self.starters else None


@dataclass(frozen=True)
class YearOnYear:
    editions: list[EditionResults]
    finishers_chart: BarChart | None
    median_chart: BarChart | None


def year_on_year(race: Race, event: Event) -> YearOnYear | None:
    """The race in each public edition of its event that has results, oldest first; None
    unless at least two editions have some. Four queries."""
    chain = [e for e in edition_chain(event) if e.pk == event.pk or e.status in PUBLIC]
    if len(chain) < 2:
        return None
    events = {e.pk: e for e in chain}
    races_by_event: dict[int, list[Race]] = defaultdict(list)
    for other in Race.objects.filter(event_id__in=events).only(
        "pk", "slug", "name", "distance_m", "start_time", "event_id"
    ):
        races_by_event[other.event_id].append(other)
    matched: list[Race] = []
    for edition in chain:
        found = race if edition.pk == event.pk else same_race(race, races_by_event[edition.pk])
        if found is not None:
            found.event = events[edition.pk]
            matched.append(found)
    ids = [r.pk for r in matched]
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    rows = Result.objects.filter(race_id__in=ids).values_list("race_id", "status")
    for race_id, status, n in rows.annotate(n=Count("pk")).order_by():
        counts[race_id][status] = n
    times: dict[int, list[int]] = defaultdict(list)
    finished = Result.objects.filter(
        race_id__in=ids, status=Status.FINISHED, time_ms__isnull=False
    ).values_list("race_id", "time_ms")
    for race_id, time_ms in finished.order_by("race_id", "time_ms"):
        if time_ms is not None:
            times[race_id].append(time_ms)
    editions = []
    for other in matched:
        c = counts.get(other.pk, {})
        starters = sum(c.get(s, 0) for s in STARTED)
        if not starters:
            continue
        own = times.get(other.pk, [])
        editions.append(
            EditionResults(
                event=other.event, race=other, starters=starters,
                finishers=c.get(Status.FINISHED, 0),
                dnf=c.get(Status.DNF, 0) + c.get(Status.DSQ, 0),
                winning_ms=own[0] if own else None,
                median_ms=int(stats.median(own)) if own else None, current=other.pk == race.pk,
            )
        )  # fmt: skip
    if len(editions) < 2:
        return None
    return YearOnYear(
        editions=editions,
        finishers_chart=bar_chart(
            [(e.label, float(e.finishers), str(e.finishers)) for e in editions],
            caption="Finishers per edition",
        ),
        median_chart=_median_chart(editions),
    )


def _median_chart(editions: list[EditionResults]) -> BarChart | None:
    values = [
        (e.label, e.median_ms / 60_000, duration(e.median_ms)) for e in editions if e.median_ms
    ]
    # Medians differ by minutes on an hour: bars rise from below the smallest.
    floor = 0.8 * min((v for _, v, _ in values), default=0.0)
    return bar_chart(values, caption="Median finish time per edition", floor=floor)


# The organizer's participation dashboard.


@dataclass
class EditionParticipation:
    """One edition of an event: its confirmed entries, starters and finishers."""

    event: Event
    entries: int = 0
    starters: int = 0
    finishers: int = 0
    by_sex: dict[str, int] = field(default_factory=dict)
    by_category: dict[str, int] = field(default_factory=dict)

    @property
    def year(self) -> int:
        return self.event.start_date.year

    @property
    def date(self) -> dt.date:
        return self.event.start_date


@dataclass
class EventParticipation:
    """An event's editions, oldest first, with the columns the table needs."""

    name: str
    editions: list[EditionParticipation]
    sexes: list[tuple[str, str]]  # (code, label) present in any edition
    categories: list[str]  # category codes present in any edition
    chart: BarChart | None

    @property
    def rows(self) -> list[tuple[EditionParticipation, list[int], list[int]]]:
        """Each edition with its counts by sex and by category, in the columns' order."""
        return [
            (
                e,
                [e.by_sex.get(code, 0) for code, _ in self.sexes],
                [e.by_category.get(code, 0) for code in self.categories],
            )
            for e in self.editions
        ]


def participation(events: Iterable[Event], *, single: bool = False) -> list[EventParticipation]:
    """Participation over the years of the recurring events among ``events`` (already
    scoped to the viewer), newest series first; with ``single``, lone events too. Four
    queries."""
    chains = [c for c in _chains(events) if single or len(c) > 1]
    ids = [e.pk for chain in chains for e in chain]
    per: dict[int, EditionParticipation] = {
        e.pk: EditionParticipation(event=e) for chain in chains for e in chain
    }
    confirmed = Registration.objects.filter(event_id__in=ids, status=Registration.Status.CONFIRMED)
    for event_id, sex, n in (
        confirmed.values_list("event_id", "sex").annotate(n=Count("pk")).order_by()
    ):
        per[event_id].by_sex[sex] = n
        per[event_id].entries += n
    for event_id, code, n in (
        confirmed.filter(category__isnull=False)
        .values_list("event_id", "category__code")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        per[event_id].by_category[code] = per[event_id].by_category.get(code, 0) + n
    results = Result.objects.filter(race__event_id__in=ids).values_list("race__event_id")
    for event_id, started, finished in results.annotate(
        started=Count("pk", filter=Q(status__in=STARTED)),
        finished=Count("pk", filter=Q(status=Status.FINISHED)),
    ).order_by():
        per[event_id].starters, per[event_id].finishers = started, finished
    sex_labels = dict(Registration.Sex.choices)
    out = []
    for chain in chains:
        editions = [per[e.pk] for e in chain]
        sexes = sorted({s for e in editions for s in e.by_sex})
        codes = sorted({c for e in editions for c in e.by_category})
        chart = bar_chart(
            [(str(e.year), float(e.entries), str(e.entries)) for e in editions],
            caption="Entries per edition",
        )
        out.append(
            EventParticipation(
                name=chain[-1].name, editions=editions,
                sexes=[(s, str(sex_labels.get(s, s or "unknown"))) for s in sexes],
                categories=codes, chart=chart,
            )
        )  # fmt: skip
    return out
