"""Pace's generic timing CSV: one read per line under a header naming the columns.

Columns (names in any case and order; README "Timing" documents them):

- ``bib`` or ``chip`` (or both; a line fills at least one, the bib wins): who was read;
- ``time``: ``HH:MM:SS[.fff]`` (on the race day, at the venue), ``YYYY-MM-DD HH:MM:SS[.fff]``
  (at the venue), or ISO 8601 with ``Z``/``+02:00`` (absolute);
- ``point`` (optional): the timing point's name; without it the import's chosen point;
- ``id`` (optional): the read's id, for importing a file again without doubling reads.

Separated by commas, semicolons or tabs (the header's most frequent one), quoted as the
``csv`` module reads Excel's exports.
"""

from __future__ import annotations

import csv
from collections.abc import Callable

from results.readfiles.base import (
    LineError,
    ParsedRead,
    ReadFileError,
    Venue,
    bib_cell,
    chip_cell,
    content_id,
    date_time,
    point_cell,
    read_id_cell,
    time_of_day,
)

NAME = "generic"

ALIASES = {
    "bib": "bib", "bib number": "bib", "start number": "bib", "number": "bib",
    "chip": "chip", "chip code": "chip", "transponder": "chip", "tag": "chip",
    "time": "time", "timestamp": "time", "read time": "time",
    "point": "point", "timing point": "point", "location": "point",
    "id": "id", "read id": "id",
}  # fmt: skip

LineParser = Callable[[int, str], ParsedRead]


def _cells(line: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=delimiter, strict=True), [])
    except csv.Error as exc:
        raise LineError("line", f"not a CSV line ({exc})") from None


def _columns(header: str) -> tuple[str, dict[str, int]]:
    delimiter = max((",", ";", "\t"), key=header.count)
    try:
        names = next(csv.reader([header], delimiter=delimiter), [])
    except csv.Error:
        names = []
    columns: dict[str, int] = {}
    for index, name in enumerate(names):
        known = ALIASES.get(name.strip().lower())
        if known and known not in columns:
            columns[known] = index
    if "time" not in columns or not ({"bib", "chip"} & columns.keys()):
        shown = ", ".join(repr(n.strip()[:30]) for n in names[:10]) or "nothing"
        raise ReadFileError(
            "The first line must name the columns: time, and bib or chip (point and id "
            f"optional); it names {shown}."
        )
    return delimiter, columns


def line_parser(header: str, *, venue: Venue) -> LineParser:
    """The function reading one line of a file whose first line is ``header``."""
    delimiter, columns = _columns(header)
    width = max(columns.values()) + 1

    def cell(cells: list[str], name: str) -> str:
        index = columns.get(name)
        return cells[index].strip() if index is not None else ""

    def parse(number: int, line: str) -> ParsedRead:
        cells = _cells(line, delimiter)
        if len(cells) < width:
            raise LineError("line", f"{len(cells)} column(s), the header names {width}")
        bib, chip = cell(cells, "bib"), cell(cells, "chip")
        if not bib and not chip:
            raise LineError("bib", "no bib and no chip: who was read?")
        bib = bib_cell(bib) if bib else ""
        chip = "" if bib else chip_cell(chip)
        point = point_cell(cell(cells, "point"))
        raw = cell(cells, "time")
        at = (
            date_time("time", raw, venue=venue)
            if "-" in raw
            else time_of_day("time", raw, venue=venue)
        )
        read_id = cell(cells, "id")
        read_id = (
            read_id_cell(read_id)
            if read_id
            else content_id(NAME, bib, chip, point.lower(), at.isoformat())
        )
        return ParsedRead(line=number, bib=bib, chip=chip, point=point, at=at, read_id=read_id)

    return parse
