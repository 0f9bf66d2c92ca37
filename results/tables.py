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

from pace.lib.clock import SYSTEM, Clock
from pace.lib.textfold import fold
from results.models import Result, TimingPoint
from results.presenting import TABLE_FIELDS
from results.selectors import LISTED

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
    "rank": lambda r: (r.status_order, _late(r.time_ms), r.last, r.pk),
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


def read_race_table(race_id: int, clock: Clock = SYSTEM) -> RaceTable:
    """Read a race's table from the database (one query)."""
    rows: list[Row] = []
    times: dict[str, list[float]] = {}
    query = Result.objects.filter(race_id=race_id).order_by()
    for values in query.values_list(*_READ):
        splits = values[-1]
        if isinstance(splits, dict):
            for key, ms in splits.items():
                # A lap's later passes ("p5.2") are not ranked on a page.
                if "." not in key and isinstance(ms, int | float):
                    times.setdefault(key, []).append(ms)
        if values[_STATUS] in LISTED:
            rows.append(_row(values))
    packed = {key: array("d", sorted(found)) for key, found in times.items()}
    return RaceTable(rows=rows, times=packed, read_at=clock.monotonic())


_tables: OrderedDict[tuple[int, str, Any], RaceTable] = OrderedDict()
_lock = threading.Lock()


def race_table(
    *, race_id: int, stamp: str, version: Any = None, clock: Clock = SYSTEM
) -> RaceTable:
    """The race's table at ``stamp`` and the site's page ``version``, from this process's
    memory or read once."""
    key = (race_id, stamp, version)
    with _lock:
        table = _tables.get(key)
        if table is not None and clock.monotonic() - table.read_at < MAX_AGE_S:
            _tables.move_to_end(key)
            return table
    table = read_race_table(race_id, clock)
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
    ``TABLE_FIELDS`` (an out-of-range or bad page number: the nearest page)."""
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
    listing.object_list = [r.shown for r in listing.object_list]  # type: ignore[misc]
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
