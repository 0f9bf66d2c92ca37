"""A race's statistics: who started and finished, how long it took, the fastest segments.

Two queries whatever the field's size (counts by status; finishers' times and splits),
the rest in memory: a 10,000-finisher race is a few tens of milliseconds, and the page
is cached like the results table.
"""

from __future__ import annotations

import statistics as stats
from dataclasses import dataclass, field
from typing import cast

from events.models import Registration
from results import formatting
from results.models import Result, TimingPoint
from results.presenting import BarChart, bar_chart
from results.selectors import RacePage, result_counts, timing_points

Status = Result.Status
# Bin widths a histogram may use (minutes): the smallest that keeps it under MAX_BINS.
BIN_MINUTES = (1, 2, 5, 10, 15, 30, 60, 120)
MAX_BINS = 24
SEGMENT_LEADERS = 3
# time_ms, sex, splits, first name, last name, bib
FinisherRow = tuple[int, str, dict[str, int], str, str, str]


@dataclass(frozen=True)
class Leader:
    name: str
    bib: str
    time_ms: int
    pace: str


@dataclass(frozen=True)
class Segment:
    name: str  # "5 km → 10 km"
    distance_m: float
    leaders: list[Leader]


@dataclass
class RaceStatistics:
    entries: int = 0
    starters: int = 0
    finishers: int = 0
    dnf: int = 0
    dns: int = 0
    dsq: int = 0
    fastest_ms: int | None = None
    median_ms: int | None = None
    slowest_ms: int | None = None
    median_by_sex: dict[str, int] = field(default_factory=dict)
    histogram: BarChart | None = None
    segments: list[Segment] = field(default_factory=list)

    @property
    def dnf_rate(self) -> float | None:
        """The share of starters who did not finish (DNF and DSQ), in percent."""
        if not self.starters:
            return None
        return 100 * (self.dnf + self.dsq) / self.starters


def race_statistics(page: RacePage) -> RaceStatistics:
    counts = result_counts(page.race)
    out = RaceStatistics(
        entries=sum(counts.values()),
        finishers=counts.get(Status.FINISHED, 0),
        dnf=counts.get(Status.DNF, 0),
        dns=counts.get(Status.DNS, 0),
        dsq=counts.get(Status.DSQ, 0),
    )
    out.starters = out.finishers + out.dnf + out.dsq + counts.get(Status.RACING, 0)
    # time_ms is set on every finisher (filtered below): the rows are FinisherRows.
    finishers = cast(
        list[FinisherRow],
        list(
            Result.objects.filter(race=page.race, status=Status.FINISHED, time_ms__isnull=False)
            .order_by("time_ms")
            .values_list(
                "time_ms",
                "sex",
                "splits",
                "registration__first_name",
                "registration__last_name",
                "registration__bib",
            )
        ),
    )
    times = [row[0] for row in finishers]
    if times:
        out.fastest_ms, out.slowest_ms = times[0], times[-1]
        out.median_ms = int(stats.median(times))
        by_sex: dict[str, list[int]] = {}
        for time_ms, sex, *_ in finishers:
            by_sex.setdefault(sex, []).append(time_ms)
        out.median_by_sex = {
            _sex_label(sex): int(stats.median(v)) for sex, v in sorted(by_sex.items())
        }
        out.histogram = histogram(times)
    out.segments = fastest_segments(finishers, timing_points(page.race), sport=page.event.sport)
    return out


def _sex_label(sex: str) -> str:
    labels = dict(Registration.Sex.choices)
    return str(labels.get(sex, sex or "unknown")).lower()


def histogram(times: list[int]) -> BarChart | None:
    """Finishers per bin of finish time, bins of a round number of minutes."""
    low, high = min(times), max(times)
    span_min = (high - low) / 60_000
    width = next((m for m in BIN_MINUTES if span_min / m < MAX_BINS), BIN_MINUTES[-1])
    bin_ms = width * 60_000
    first = low // bin_ms
    counts = [0] * (int(high // bin_ms - first) + 1)
    for t in times:
        counts[int(t // bin_ms - first)] += 1
    values = [
        (formatting.duration((first + i) * bin_ms)[:-3], float(n), str(n))
        for i, n in enumerate(counts)
    ]
    per = "minute" if width == 1 else f"{width} minutes"
    return bar_chart(values, caption=f"Finishers per {per} of finish time")


def fastest_segments(
    finishers: list[FinisherRow],
    points: list[TimingPoint],
    *,
    sport: str,
) -> list[Segment]:
    """The fastest finishers over each stretch between two timing points."""
    passed = [p for p in points if p.kind != TimingPoint.Kind.START]
    segments: list[Segment] = []
    previous: TimingPoint | None = None
    for point in passed:
        start_key = f"p{previous.pk}" if previous else None
        length = point.distance_m - (previous.distance_m if previous else 0.0)
        times: list[tuple[int, str, str]] = []
        for _, _, splits, first, last, bib in finishers:
            end = splits.get(f"p{point.pk}")
            begin = splits.get(start_key, None) if start_key else 0
            if end is not None and begin is not None and end > begin:
                times.append((end - begin, f"{first} {last}", bib))
        times.sort()
        leaders = [
            Leader(name, bib, ms, formatting.pace_or_speed(ms, length, sport=sport))
            for ms, name, bib in times[:SEGMENT_LEADERS]
        ]
        label = f"{previous.name if previous else 'Start'} → {point.name}"
        if leaders:
            segments.append(Segment(name=label, distance_m=length, leaders=leaders))
        previous = point
    return segments
