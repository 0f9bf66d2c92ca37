"""What results pages show, computed from results: table rows, an athlete's splits, charts.

Pure functions over models already loaded by ``results.selectors``: no query here.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import quote

from django.utils.safestring import SafeString, mark_safe

from results import formatting
from results.models import Result, TimingPoint
from results.seo import RESERVED_BIBS

STATUS_SHORT: dict[str, str] = {
    Result.Status.FINISHED: "",
    Result.Status.RACING: "Racing",
    Result.Status.DNF: "DNF",
    Result.Status.DNS: "DNS",
    Result.Status.DSQ: "DSQ",
    Result.Status.NOT_STARTED: "",
}


STATUS_LABELS: dict[str, str] = {str(value): str(label) for value, label in Result.Status.choices}
DASH = "\u2013"
# The columns ``table_rows`` reads, in this order (``selectors.results_listing(values=...)``).
TABLE_FIELDS = (
    "status",
    "sex",
    "chip_time_ms",
    "gun_time_ms",
    "rank_overall",
    "rank_sex",
    "rank_category",
    "dsq_reason",
    "penalty_ms",
    "bonus_ms",
    "registration__bib",
    "registration__first_name",
    "registration__last_name",
    "registration__club",
    "category__name",
)


@dataclass(frozen=True, slots=True)
class Progress:
    """Where an athlete still racing got to: what their row shows instead of a finish."""

    point: str  # the furthest timing point passed
    distance_m: float
    time_ms: int  # from their start
    rank: int | None  # places there, by time from each one's start
    rank_sex: int | None
    rank_category: int | None


def _athlete(prefix: str, bib: str, suffix: str) -> str:
    if bib in RESERVED_BIBS:  # the page of that name has the address: the other one
        return f"{prefix}bib/{quote(bib, safe='')}{suffix}"
    return f"{prefix}{quote(bib, safe='')}{suffix}"


def table_rows(
    rows: list[tuple[Any, ...]], *, athlete_url: str, distance_m: float | None, sport: str
) -> list[dict[str, Any]]:
    """The results table's rows, every cell a ready string (no filter, tag or number
    formatting left for the template, which is most of a page's CPU otherwise).

    ``rows``: tuples of ``TABLE_FIELDS``, maybe followed by the athlete's ``Progress``
    (still racing: their row shows the furthest point they passed, their time and
    places there); ``athlete_url``: an athlete's address with
    ``{bib}`` where the bib goes (``reverse`` once, not once a row)."""
    prefix, _, suffix = athlete_url.partition("{bib}")
    pace_or_speed, duration = formatting.pace_or_speed, formatting.duration
    out = []
    width = len(TABLE_FIELDS)
    for values in rows:
        (
            status, sex, chip_ms, gun_ms, rank, rank_sex, rank_cat, dsq_reason, penalty, bonus,
            bib, first, last, club, category,
        ) = values[:width]  # fmt: skip
        progress: Progress | None = values[width] if len(values) > width else None
        at = ""
        chip, gun, pace = duration(chip_ms), duration(gun_ms), ""
        if progress is not None:
            # Racing: the places and time at the furthest point passed, marked with it.
            at = progress.point
            rank_sex, rank_cat = progress.rank_sex, progress.rank_category
            chip = duration(progress.time_ms)
            pace = pace_or_speed(progress.time_ms, progress.distance_m, sport=sport)
        elif chip_ms is not None:
            pace = pace_or_speed(chip_ms, distance_m, sport=sport)
        name = f"{first} {last}"
        title = STATUS_LABELS.get(status, status)
        out.append(
            {
                "status": status,
                "bib": bib,
                "rank": str(rank) if rank else "",
                "at": at,
                "at_rank": str(progress.rank) if progress and progress.rank else "",
                "status_short": STATUS_SHORT.get(status, status),
                "title": f"{title}: {dsq_reason}" if dsq_reason else title,
                "url": _athlete(prefix, bib, suffix) if bib else "",
                "name": name,
                "sub": f"{club} · {category or sex}" if club else (category or sex),
                "club": club,
                "category": category or "",
                "rank_category": str(rank_cat) if rank_cat and category else "",
                "sex": sex,
                "rank_sex": str(rank_sex) if rank_sex else "",
                "chip": chip or DASH,
                "adjusted": bool(penalty or bonus),
                "gun": gun or DASH,
                "pace": pace or DASH,
            }
        )
    return out


ESCAPED = ("status", "bib", "rank", "title", "status_short", "url", "name", "sub", "club",
           "category", "rank_category", "sex", "rank_sex", "chip", "gun", "pace", "at",
           "at_rank")  # fmt: skip
ADJUSTED_MARK = '<span class="adjusted" title="Time adjusted: penalty or bonus">*</span>'


def table_html(rows: list[dict[str, Any]]) -> SafeString:
    """The results table's body rows (``table_rows``'s) as HTML, every value escaped.

    Written here rather than in the template: 100 rows of 9 cells through Django's
    template engine were 40 % of a results page's CPU on a miss (1,500 variable and tag
    nodes a page); the same markup joined from escaped strings costs a tenth of that.
    """
    out = []
    for r in rows:
        e = {key: escape(r[key]) for key in ESCAPED}
        if r["rank"]:
            rank = e["rank"]
        else:
            rank = f'<span class="status-tag" title="{e["title"]}">{e["status_short"]}</span>'
            if r["at_rank"]:  # still racing: their place at the last point they passed
                rank += f' <span class="muted" title="Place at {e["at"]}">{e["at_rank"]}</span>'
        at = f'<span class="split-at muted">{e["at"]}</span> ' if r["at"] else ""
        name = f'<a href="{e["url"]}">{e["name"]}</a>' if r["url"] else e["name"]
        cat = f' <span class="muted">({e["rank_category"]})</span>' if r["rank_category"] else ""
        sex = f' <span class="muted">({e["rank_sex"]})</span>' if r["rank_sex"] else ""
        out.append(
            f'<tr class="status-{e["status"]}" data-bib="{e["bib"]}">'
            f'<td class="num rank">{rank}</td><td class="num">{e["bib"]}</td>'
            f'<td class="name">{name}<span class="sub">{e["sub"]}</span></td>'
            f'<td class="col-club">{e["club"]}</td><td class="col-cat">{e["category"]}{cat}</td>'
            f'<td class="col-sex">{e["sex"]}{sex}</td>'
            f'<td class="num time">{at}{e["chip"]}{ADJUSTED_MARK if r["adjusted"] else ""}</td>'
            f'<td class="num col-gun">{e["gun"]}</td><td class="num col-pace">{e["pace"]}</td>'
            "</tr>\n"
        )
    return mark_safe("".join(out))  # every value above is escaped


@dataclass(frozen=True)
class SplitRow:
    """One timing point passed by an athlete."""

    name: str
    distance_m: float
    time_ms: int
    segment_ms: int
    segment_m: float
    pace: str
    rank: int | None

    @property
    def distance_km(self) -> float:
        return self.distance_m / 1000


def split_rows(
    *, result: Result, points: list[TimingPoint], ranks: dict[int, int], sport: str
) -> list[SplitRow]:
    """The points an athlete passed, in course order, with the segment since the last one."""
    rows: list[SplitRow] = []
    last_ms, last_m = 0, 0.0
    for point in points:
        ms = result.splits.get(f"p{point.pk}")
        if point.kind == TimingPoint.Kind.START or ms is None:
            continue
        segment_ms, segment_m = ms - last_ms, point.distance_m - last_m
        rank = ranks.get(point.pk)
        if point.kind == TimingPoint.Kind.FINISH and result.rank_overall is not None:
            rank = result.rank_overall  # the finish ranks by the ranked time (penalties)
        rows.append(
            SplitRow(
                name=point.name,
                distance_m=point.distance_m,
                time_ms=ms,
                segment_ms=segment_ms,
                segment_m=segment_m,
                pace=formatting.pace_or_speed(segment_ms, segment_m, sport=sport),
                rank=rank,
            )
        )
        last_ms, last_m = ms, point.distance_m
    return rows


@dataclass(frozen=True)
class Bar:
    label: str
    value: str
    percent: float  # of the tallest bar's height
    show_label: bool = True


@dataclass(frozen=True)
class BarChart:
    """Bars drawn by a template as HTML (text stays legible at any width)."""

    bars: list[Bar]
    caption: str

    @property
    def crowded(self) -> bool:
        """Too many bars to print each one's value above it."""
        return len(self.bars) > 12


def bar_chart(
    values: list[tuple[str, float, str]], *, caption: str, floor: float = 0.0
) -> BarChart | None:
    """Bars of ``(label, value, value as text)`` from ``floor`` to the largest; None if
    empty."""
    if not values or max(v for _, v, _ in values) <= floor:
        return None
    span = max(v for _, v, _ in values) - floor
    every = -(-len(values) // 12)  # at most a dozen labels along the axis
    bars = [
        Bar(
            label=label,
            value=text,
            percent=round(100 * max(0.0, value - floor) / span, 1),
            show_label=i % every == 0,
        )
        for i, (label, value, text) in enumerate(values)
    ]
    return BarChart(bars=bars, caption=caption)


def pace_chart(rows: list[SplitRow], *, sport: str) -> BarChart | None:
    """Pace (or speed) per segment: the athlete's race at a glance."""
    values: list[tuple[str, float, str]] = []
    for row in rows:
        seconds = formatting.seconds_per_km(row.segment_ms, row.segment_m)
        if seconds is None:
            continue
        value = 3600 / seconds if formatting.uses_speed(sport) else seconds
        values.append((row.name, value, row.pace))
    what = "Speed" if formatting.uses_speed(sport) else "Pace"
    # Paces differ by seconds on minutes: bars rise from below the smallest, so the
    # differences show (the axis is labelled by the values themselves).
    floor = 0.8 * min((v for _, v, _ in values), default=0.0)
    return bar_chart(values, caption=f"{what} per segment", floor=floor)


def certificate_lines(result: Result, *, finishers: int) -> dict[str, Any]:
    """What a finisher's certificate says, beyond their name and race."""
    return {
        "time": formatting.duration(result.chip_time_ms),
        "gun_time": formatting.duration(result.gun_time_ms),
        "rank": result.rank_overall,
        "finishers": finishers,
        "rank_sex": result.rank_sex,
        "rank_category": result.rank_category,
    }
