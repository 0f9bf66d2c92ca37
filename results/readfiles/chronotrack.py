"""ChronoTrack tag observations in the CT01_33 layout (the controller's stream, as
SimpleClient and third-party clients log it one observation a line).

Based on ChronoTrack's CTP01 protocol's tag event format ``CT01_33`` as implemented by
public clients (e.g. ``CT01_33~1~start~9478~14:02:15.31~0~0F2A38~1``) and ChronoTrack's
knowledge base on controller data files and raw reads
(https://knowledge.chronotrack.com/hc/en-us/articles/205357120). Tilde separated::

    CT01_33~<sequence>~<location>~<tag>~<time>~<lap or gator>~<reader id>~<gator or lap>

``<location>`` is the controller's point name (matched to the race's timing points),
``<tag>`` the tag's code (a bib tag's code is its bib: taken as a chip, mapped by the event's
chip file, else read as the bib). ``<time>`` follows the controller's ``time-format``:
``normal`` (``14:02:15.31``, the time of day at the venue on the race day), ``iso``
(``2026-05-10T14:02:15.31``, with or without an offset) or ``unix`` (seconds).
``<sequence>`` restarts with each connection, so a read's id comes from what it is.
Lines of other kinds (``ack~``, ``ping``, guns, markers) are skipped, not problems.
"""

from __future__ import annotations

import datetime as dt

from results.readfiles.base import (
    LineError,
    ParsedRead,
    Venue,
    chip_cell,
    content_id,
    date_time,
    epoch_time,
    point_cell,
    time_of_day,
)

NAME = "chronotrack"
PREFIX = "CT01_33~"
# Controller messages in the tag's place: a new point connected, a gun start.
_NOT_TAGS = {"newlocation", "guntime"}


def looks_like(first_line: str) -> bool:
    return first_line.startswith(PREFIX)


def _time(value: str, venue: Venue) -> dt.datetime:
    value = value.strip()
    if "-" in value:
        return date_time("time", value, venue=venue)
    if ":" in value:
        return time_of_day("time", value, venue=venue)
    return epoch_time("time", value, venue=venue)


def parse_line(number: int, line: str, *, venue: Venue) -> ParsedRead | None:
    if not line.startswith(PREFIX):
        if line.startswith("CT01_"):
            raise LineError("format", f"{line.split('~', 1)[0][:20]!r}: only CT01_33 is read")
        return None
    fields = line.split("~")
    if len(fields) != 8:
        raise LineError("line", f"{len(fields)} field(s); a CT01_33 observation has 8")
    if not fields[1].strip().isdigit():
        raise LineError("sequence", f"{fields[1][:20]!r} is not a sequence number")
    if fields[3] in _NOT_TAGS:
        return None
    point = point_cell(fields[2])
    chip = chip_cell(fields[3])
    at = _time(fields[4], venue)
    reader = fields[6].strip()[:20]
    read_id = content_id(NAME, reader, point.lower(), chip, at.isoformat())
    return ParsedRead(line=number, bib="", chip=chip, point=point, at=at, read_id=read_id)
