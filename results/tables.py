"""A race's results as its pages read them, kept in the process's memory per results stamp.

A results page that misses the page cache used to sort and join the whole race in
PostgreSQL for its 100 rows (8-12 ms for 3,000 athletes, and three times that at
10,000), and an athlete's page counted everyone's time at every point (5 ms). Every
page of a race misses at once whenever its stamp moves (a live race: every few
seconds), so a popular race paid that for each of its pages. Instead a process reads
the race once per stamp (``selectors.race_stamp``: any change to any of its results
moves it), then pages, searches, filters, sorts and ranks at a point in memory.

Visitors' pages are built from kept tables, at the page cache's stamp (``results.caching``:
at most ``STAMP_SECONDS`` old, as the cached page itself) and the site-wide page version
(a category renamed retires kept tables with the cached pages); the race's organizers
read it afresh (they see their change at once). A change neither sees (an entry
renamed) reaches kept tables within ``MAX_AGE_S``, then cached pages within their own
lifetime. A process keeps ``KEPT`` races, the most recently used: a race of 10,000
athletes with 10 points takes about 10 MB (a row is ~1 KB of Python objects; the
times at the points are packed arrays).
"""

from __future__ import annotations

import threading
from array import array
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Exists, OuterRef

from events.models import Registration
from pace.lib.clock import SYSTEM, Clock
from pace.lib.textfold import fold
from results.models import Result, TimingPoint
from results.presenting import TABLE_FIELDS, Progress
from results.selectors import LISTED
from tracking.models import Position

Status = Result.Status
KEPT = 8  # races per process
MAX_AGE_S = 30.0  # half production's PAGE_CACHE_SECONDS: both together within 90 s
# The order of statuses in a list: finishers first, then those still racing...
STATUS_ORDER: dict[str, int] = {
    str(s): i
    for i, s in enumerate(
        (Status.FINISHED, Status.RACING, Status.DNF, Status.DSQ, Status.DNS, Status.NOT_STARTED)
    )
}
# Read with what is shown: what the list is filtered and sorted by, and every split.
_READ = (*TABLE_FIELDS, "pk", "time_ms", "category__code", "splits")
# Where each of what a row is sorted and found by is in the shown fields (by name: a field
# added to or moved in TABLE_FIELDS moves these with it).
_STATUS, _SEX, _CHIP, _GUN, _BIB, _FIRST, _LAST, _CLUB = map(
    TABLE_FIELDS.index,
    (
        "status",
        "sex",
        "chip_time_ms",
        "gun_time_ms",
        "registration__bib",
        "registration__first_name",
        "registration__last_name",
        "registration__club",
    ),
)
SEARCH_WORDS = 5  # words of a search that count
SEARCH_CHARS = 100


@dataclass(slots=True)
class Row:
    """One listed result: what the table shows, and what it is found and sorted by."""

    shown: tuple[Any, ...]
    pk: int
    status_order: int
    time_ms: int | None
    chip_ms: int | None
    gun_ms: int | None
    sex: str
    category: str  # the category's code
    bib: str
    last: str  # as names are collated (``collation_key``), for sorting
    first: str
    words: str  # first name, last name and club, folded (``fold``), for searching
    # Still racing: the furthest point passed (splits key) and the time there, else "".
    reached: str = ""
    reached_ms: int | None = None
    # Sorts those still racing by how far they got, then their time there.
    progress: tuple[int, int, float] = (0, 0, 0.0)


def collation_key(name: str) -> str:
    """A name as a sort key close to a database's ``en_US`` collation: accents, case,
    spaces and punctuation ignored ("Ávila" with the A's, "De Vries" after "Dean")."""
    return "".join(c for c in fold(name) if c.isalnum())


def _late(value: int | None) -> tuple[bool, int]:
    """A time as a sort key: none after every time (as PostgreSQL sorts NULL)."""
    return (value is None, value or 0)


# Each sort's key; ``-key`` is the same order reversed, as ``ORDER BY ... DESC`` on
# every term would give.
SORTS: dict[str, Callable[[Row], Any]] = {
    "rank": lambda r: (r.status_order, _late(r.time_ms), r.progress, r.last, r.pk),
    "name": lambda r: (r.last, r.first, r.pk),  # pk: homonyms in a fixed order
    "bib": lambda r: (len(r.bib), r.bib, r.pk),  # bibs as numbers: 99 before 101
    "chip": lambda r: (r.status_order, _late(r.chip_ms), r.pk),
    "gun": lambda r: (r.status_order, _late(r.gun_ms), r.pk),
}


@dataclass
class RaceTable:
    """A race's listed results and every athlete's times at the points, at one stamp."""

    rows: list[Row]
    # Per point (splits key ``p<id>``), every result's time there from their start,
    # ascending; packed (8 bytes a time, not a 32-byte float and a pointer).
    times: dict[str, array[float]]
    # The same per point and sex ``(key, sex)`` and per point and category ``(key, code)``:
    # the places at a split of those still racing.
    times_by: dict[tuple[str, str], array[float]] = field(default_factory=dict)
    # The points those still racing reached: splits key -> (name, distance in metres).
    points: dict[str, tuple[str, float]] = field(default_factory=dict)
    read_at: float = 0.0  # monotonic clock
    _sorted: dict[str, list[Row]] = field(default_factory=dict)

    def sorted_by(self, sort: str) -> list[Row]:
        """The rows in ``sort``'s order (``-key``: reversed), sorted once per table."""
        rows = self._sorted.get(sort)
        if rows is None:
            key = sort.removeprefix("-")
            order = SORTS.get(key, SORTS["rank"])
            rows = sorted(self.rows, key=order, reverse=sort.startswith("-") and key in SORTS)
            self._sorted[sort] = rows
        return rows


def _row(values: tuple[Any, ...]) -> Row:
    shown = values[: len(TABLE_FIELDS)]
    status, sex, chip, gun = shown[_STATUS], shown[_SEX], shown[_CHIP], shown[_GUN]
    bib, first, last, club = shown[_BIB], shown[_FIRST], shown[_LAST], shown[_CLUB]
    pk, time_ms, code = values[len(TABLE_FIELDS) : len(TABLE_FIELDS) + 3]
    return Row(
        shown=shown,
        pk=pk,
        status_order=STATUS_ORDER.get(status, 9),
        time_ms=time_ms,
        chip_ms=chip,
        gun_ms=gun,
        sex=sex,
        category=code or "",
        bib=bib,
        last=collation_key(last),
        first=collation_key(first),
        words=fold(f"{first}\0{last}\0{club}"),
    )


def _pass_key(key: str) -> tuple[int, int]:
    """A splits key as ``(point id, pass)``: "p5" is (5, 1), a lap's "p5.2" (5, 2)."""
    point, _, n = key[1:].partition(".")
    return int(point), int(n or 1)


def _reach(row: Row, splits: dict[str, Any], order: dict[int, int]) -> None:
    """Note on a row still racing the furthest point it passed: the latest pass, then
    the point furthest along the course (the start is no progress)."""
    best: tuple[int, int] | None = None
    for key, ms in splits.items():
        pid, n = _pass_key(key)
        if pid not in order or not isinstance(ms, int | float):
            continue
        if best is None or (n, order[pid]) > best:
            best, row.reached, row.reached_ms = (n, order[pid]), key, int(ms)
    if best is not None and row.reached_ms is not None:
        row.progress = (-best[0], -best[1], float(row.reached_ms))


def _starters(race_id: int) -> list[tuple[Any, ...]]:
    """Entries whose tracker was heard since the gun but who passed no timing point yet:
    they started (tracking counts them racing), so a live table lists them as racing."""
    tracked = Position.objects.filter(
        registration=OuterRef("pk"), race_id=race_id, t__gte=OuterRef("race__start_time")
    )
    listed = Result.objects.filter(registration=OuterRef("pk"), status__in=LISTED)
    entries = (
        Registration.objects.filter(race_id=race_id, status=Registration.Status.CONFIRMED)
        .filter(Exists(tracked))
        .exclude(Exists(listed))
        .order_by()
    )
    found = entries.values_list(
        "pk", "sex", "bib", "first_name", "last_name", "club", "category__name", "category__code"
    )
    out: list[tuple[Any, ...]] = []
    for pk, sex, bib, first, last, club, category, code in found:
        shown = dict.fromkeys(TABLE_FIELDS)
        shown.update(
            {
                "status": Status.RACING, "sex": sex, "dsq_reason": "", "penalty_ms": 0,
                "bonus_ms": 0, "registration__bib": bib, "registration__first_name": first,
                "registration__last_name": last, "registration__club": club,
                "category__name": category,
            }
        )  # fmt: skip
        # A negative pk: an entry's, never a result's.
        out.append((*shown.values(), -pk, None, code, {}))
    return out


def read_race_table(race_id: int, clock: Clock = SYSTEM, *, live: bool = False) -> RaceTable:
    """Read a race's table from the database: one query for a finished race; a live one
    also reads its points when someone is out on the course, and who started but has
    passed no point yet (``_starters``)."""
    rows: list[Row] = []
    times: dict[str, list[float]] = {}
    times_by: dict[tuple[str, str], list[float]] = {}
    racing: list[tuple[Row, dict[str, Any]]] = []
    query = Result.objects.filter(race_id=race_id).order_by()
    found = list(query.values_list(*_READ))
    if live:
        found += _starters(race_id)
    for values in found:
        splits = values[-1]
        status, sex, code = values[_STATUS], values[_SEX], values[len(TABLE_FIELDS) + 2]
        if isinstance(splits, dict):
            for key, ms in splits.items():
                # A lap's later passes ("p5.2") are not ranked on a page.
                if "." not in key and isinstance(ms, int | float):
                    times.setdefault(key, []).append(ms)
                    times_by.setdefault((key, sex), []).append(ms)
                    if code:
                        times_by.setdefault((key, code), []).append(ms)
        if status in LISTED:
            rows.append(row := _row(values))
            if status == Status.RACING and splits:
                racing.append((row, splits))
    points: dict[str, tuple[str, float]] = {}
    if racing:
        rows_of_points = TimingPoint.objects.filter(race_id=race_id).exclude(
            kind=TimingPoint.Kind.START
        )
        found_points = rows_of_points.values_list("pk", "name", "distance_m", "order")
        order = {pk: (n, distance) for pk, name, distance, n in found_points}
        points = {f"p{pk}": (name, distance) for pk, name, distance, _ in found_points}
        # Ordered along the course: by the point's order, then its distance.
        ranked = {pk: i for i, pk in enumerate(sorted(order, key=lambda pk: order[pk]))}
        for row, splits in racing:
            _reach(row, splits, ranked)
    return RaceTable(
        rows=rows,
        times=_packed(times),
        times_by=_packed(times_by),
        points=points,
        read_at=clock.monotonic(),
    )


def _packed(times: dict[Any, list[float]]) -> dict[Any, array[float]]:
    return {key: array("d", sorted(found)) for key, found in times.items()}


def progress_of(table: RaceTable, row: Row) -> Progress | None:
    """Where an athlete still racing got to: the furthest point passed, the time there
    from their start, and their places there overall, by sex and in their category."""
    if not row.reached or row.reached_ms is None or row.reached not in table.points:
        return None
    key, ms = row.reached, row.reached_ms
    name, distance = table.points[key]

    def place(times: array[float] | None) -> int | None:
        return None if times is None or "." in key else bisect_left(times, ms) + 1

    return Progress(
        point=name,
        distance_m=distance,
        time_ms=ms,
        rank=place(table.times.get(key)),
        rank_sex=place(table.times_by.get((key, row.sex))),
        rank_category=place(table.times_by.get((key, row.category))) if row.category else None,
    )


_tables: OrderedDict[tuple[int, str, Any], RaceTable] = OrderedDict()
_lock = threading.Lock()


def race_table(
    *, race_id: int, stamp: str, version: Any = None, clock: Clock = SYSTEM, live: bool = False
) -> RaceTable:
    """The race's table at ``stamp`` and the site's page ``version``, from this process's
    memory or read once."""
    key = (race_id, stamp, version)
    with _lock:
        table = _tables.get(key)
        if table is not None and clock.monotonic() - table.read_at < MAX_AGE_S:
            _tables.move_to_end(key)
            return table
    table = read_race_table(race_id, clock, live=live)
    with _lock:
        for old in [k for k in _tables if k[0] == race_id]:
            del _tables[old]  # the race at an older stamp or version: not asked for again
        _tables[key] = table
        while len(_tables) > KEPT:
            _tables.popitem(last=False)
    return table


def forget_tables() -> None:
    """Drop every table this process keeps (tests)."""
    with _lock:
        _tables.clear()


def _matches(q: str) -> Callable[[Row], bool] | None:
    """Whether a row is found by ``q``: every word in the name or club, or the whole text
    as the bib; None for an empty search."""
    text = q.strip()[:SEARCH_CHARS]
    if not text:
        return None
    words = [w.replace("\0", "") for w in fold(text).split()[:SEARCH_WORDS]]
    return lambda r: r.bib == text or all(w in r.words for w in words)


def results_listing(
    table: RaceTable,
    *,
    page: str | int | None,
    per_page: int,
    q: str = "",
    category: str = "",
    sex: str = "",
    sort: str = "rank",
) -> Page:  # type: ignore[type-arg]
    """One page of a race's listed results, searched, filtered and sorted, as tuples of
    ``TABLE_FIELDS`` and the athlete's ``Progress`` when still racing (an out-of-range
    or bad page number: the nearest page)."""
    rows = table.sorted_by(sort)
    found = _matches(q)
    if found or category or sex:
        rows = [
            r
            for r in rows
            if (not category or r.category == category)
            and (not sex or r.sex == sex)
            and (found is None or found(r))
        ]
    listing = Paginator(rows, per_page).get_page(page)
    shown: list[Any] = [(*r.shown, progress_of(table, r)) for r in listing.object_list]
    listing.object_list = shown
    return listing


def ranks_at_points(
    table: RaceTable, *, result: Result, points: list[TimingPoint]
) -> dict[int, int]:
    """The athlete's place at each point they passed, by time from their start: 1 + those
    faster there (competition ranks)."""
    ranks = {}
    for point in points:
        ms = result.splits.get(f"p{point.pk}")
        if isinstance(ms, int | float):
            ranks[point.pk] = bisect_left(table.times.get(f"p{point.pk}", []), ms) + 1
    return ranks
