"""RACE RESULT decoder passings (a Decoder's or Track Box's passing file, "Raw Data Record").

Based on RACE RESULT's "Decoder Communication Protocol", Passing Record
(https://www.raceresult.com/en-us/support/kbexport2?id=487), and its list of raw data
exporters (https://raceresult.com/en-us/support/kbexport2?id=15788). One passing a line,
semicolon separated, no header::

    <PassingNo>;<Bib/TranspCode>;<Date>;<Time>;[<EventID>];<Hits>;<MaxRSSI>;<InternalData>;
    <IsActive>;[<Channel>];[<LoopID>];[<LoopOnly>];[<WakeupCounter>];[<Battery>];
    [<Temperature>];[<InternalActiveData>];<BoxName>;<FileNumber>;[<MaxRSSIAntenna>];<BoxId>

Older protocol versions stop after ``<MaxRSSI>`` or ``<IsActive>``: only the first seven
fields are required. ``<Date>`` is ``yyyy-MM-dd`` when the decoder had GPS, else
``0000-00-00`` (``0000-00-01`` after 24 hours...): then ``<Time>`` is the time of day at
the venue on the race day (plus that many days). ``<Bib/TranspCode>`` is the bib for bib
transponders, or a transponder code: both are taken as a chip, mapped by the event's chip
file, and a chip with no mapping is the bib it reads (RACE RESULT's default). The file names
no timing point (a decoder stands at one): the import's chosen point applies.
"""

from __future__ import annotations

import datetime as dt
import re

from results.readfiles.base import (
    LineError,
    ParsedRead,
    Venue,
    chip_cell,
    content_id,
    local_time,
    within_race,
)

NAME = "raceresult"

_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_TIME = re.compile(r"(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?")
_BOX_NAME, _BOX_ID = 16, 19


def looks_like(first_line: str) -> bool:
    fields = first_line.split(";")
    return len(fields) >= 7 and fields[0].strip().isdigit() and bool(_DATE.fullmatch(fields[2]))


def _day(value: str, venue: Venue) -> dt.date:
    match = _DATE.fullmatch(value.strip())
    if not match:
        raise LineError("date", f"{value[:20]!r} is not a date (yyyy-MM-dd)")
    year, month, day = int(match[1]), int(match[2]), int(match[3])
    if year == 0 and month == 0:
        # No GPS: days since the decoder started timing, on the race day.
        return venue.race_day + dt.timedelta(days=day)
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise LineError("date", f"{value!r} is not a date") from None


def parse_line(number: int, line: str, *, venue: Venue) -> ParsedRead:
    fields = line.split(";")
    if len(fields) < 7:
        raise LineError("line", f"{len(fields)} field(s); a passing has at least 7")
    if not fields[0].strip().isdigit():
        raise LineError("PassingNo", f"{fields[0][:20]!r} is not a passing number")
    chip = chip_cell(fields[1])
    day = _day(fields[2], venue)
    match = _TIME.fullmatch(fields[3].strip())
    if not match:
        raise LineError("Time", f"{fields[3][:20]!r} is not a time (hh:mm:ss.kkk)")
    at = local_time(
        "Time",
        day=day,
        hours=match[1],
        minutes=match[2],
        seconds=match[3],
        fraction=match[4],
        venue=venue,
    )
    at = within_race("Date", at, venue=venue)
    box = _field(fields, _BOX_ID) or _field(fields, _BOX_NAME)
    read_id = content_id(NAME, box, chip, at.isoformat())
    return ParsedRead(line=number, bib="", chip=chip, point="", at=at, read_id=read_id)


def _field(fields: list[str], index: int) -> str:
    return fields[index].strip() if len(fields) > index else ""
