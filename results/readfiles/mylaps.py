"""MYLAPS passings as MYLAPS software exports and forwards them (the ASCII "Exporter"
protocol of Timing & Scoring and the BibTag/ChampionChip decoders, logged one message a
line).

Based on the protocol as public third-party receivers implement it (e.g. racemap's MYLAPS
forwarder): a message is ``@``-separated, ends in ``$`` (often ``@$``), and a passing
message carries any number of passings::

    <Location>@Passing@<passing>[@<passing>...]@<message number>@$
    <Location>@Store@<passing>[@<passing>...]@<message number>@$   (stored, sent again)

and each passing is ``|``-separated ``key=value`` pairs, in any order::

    t=13:11:30.904|c=0000041|ct=UH|d=120606|l=13|dv=4|re=0|an=00001111|g=0|b=41|n=41

Read here: ``c`` the chip code (mapped by the event's chip file), ``b`` the bib number a
BibTag chip carries (it wins over the chip when it is not 0), ``t`` the time of day
(``hh:mm:ss.fff``, the decoder's clock, at the venue), ``d`` the date (``YYMMDD``; without
it, the race day), ``dv`` the device (part of the read's id). Others (chip type, lap, reader,
antenna, hits, amplitude...) are kept by MYLAPS, not needed here. ``<Location>`` is the
timing point's name. A line that is a bare passing (``t=...|c=...``, as MYLAPS' passing
logs hold them) is read at the point chosen on upload. Other messages (``Pong``, ``Ping``,
``Marker``, ``GetInfo``, acknowledgements...) are skipped. A message's number restarts with
each connection, so a read's id comes from what it is; a message with a bad passing keeps
its good ones and reports the bad one as "passing N".
"""

from __future__ import annotations

import datetime as dt
import re

from results.readfiles.base import (
    LineError,
    ParsedRead,
    Venue,
    bib_cell,
    chip_cell,
    content_id,
    local_time,
    point_cell,
    within_race,
)

NAME = "mylaps"
_FUNCTIONS_WITH_PASSINGS = {"passing", "store"}
_TIME = re.compile(r"(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?")
_DATE = re.compile(r"(\d{2})(\d{2})(\d{2})")
_BARE = re.compile(r"^\s*(?:[a-z]{1,5}=[^|@]*\|)*[a-z]{1,5}=[^|@]*$")
_MESSAGE = re.compile(r"^[^@]{1,100}@[A-Za-z]{2,20}@")

LineItems = list[ParsedRead | LineError]


def looks_like(first_line: str) -> bool:
    """A MYLAPS message (``Finish@Passing@...``) or a bare passing (``t=...|c=...``)."""
    line = first_line.strip()
    if _MESSAGE.match(line):
        return True
    return bool(_BARE.match(line)) and "t=" in line and "c=" in line


def parse_line(number: int, line: str, *, venue: Venue) -> LineItems | None:
    """The passings of one line (each a read, or the ``LineError`` of that passing)."""
    text = line.strip()
    if "@" not in text:
        if not _BARE.match(text):
            raise LineError("line", "neither a MYLAPS message (Location@Passing@...) nor a passing")
        return [_passing(number, text, point="", venue=venue)]
    fields = text.rstrip("$").rstrip("@").split("@")
    if len(fields) < 2 or fields[1].strip().lower() not in _FUNCTIONS_WITH_PASSINGS:
        return None  # Pong, Ping, Marker, GetInfo, Ack...: no passings
    point = point_cell(fields[0])
    items: LineItems = []
    for index, cell in enumerate(fields[2:], start=1):
        if "=" not in cell:
            continue  # the message number, or nothing
        try:
            items.append(_passing(number, cell, point=point, venue=venue))
        except LineError as exc:
            items.append(LineError(f"passing {index}: {exc.column}", exc.reason))
    if not items:
        raise LineError("line", "a passing message with no passing in it")
    return items


def _passing(number: int, cell: str, *, point: str, venue: Venue) -> ParsedRead:
    pairs: dict[str, str] = {}
    for part in cell.split("|"):
        key, sep, value = part.partition("=")
        if not sep:
            raise LineError("passing", f"{part[:20]!r} is not key=value")
        pairs[key.strip().lower()] = value.strip()
    chip_code = pairs.get("c", "")
    bib_number = pairs.get("b", "")
    bib = bib_cell(bib_number) if bib_number and bib_number.strip("0") else ""
    chip = chip_cell(chip_code) if chip_code else ""
    if not bib and not chip:
        raise LineError("c", "no chip code (c=) and no bib (b=): who was read?")
    at = _when(pairs, venue)
    device = pairs.get("dv", "")[:20]
    read_id = content_id(NAME, device, point.lower(), chip or f"b{bib}", at.isoformat())
    return ParsedRead(line=number, bib=bib, chip=chip, point=point, at=at, read_id=read_id)


def _when(pairs: dict[str, str], venue: Venue) -> dt.datetime:
    time = pairs.get("t", "")
    match = _TIME.fullmatch(time)
    if not match:
        raise LineError("t", f"{time[:20]!r} is not a time (hh:mm:ss.fff)")
    day = venue.race_day
    date = pairs.get("d", "")
    if date:
        found = _DATE.fullmatch(date)
        if not found:
            raise LineError("d", f"{date[:20]!r} is not a date (YYMMDD)")
        try:
            day = dt.date(2000 + int(found[1]), int(found[2]), int(found[3]))
        except ValueError:
            raise LineError("d", f"{date} is not a date (YYMMDD)") from None
    at = local_time(
        "t", day=day, hours=match[1], minutes=match[2], seconds=match[3], fraction=match[4],
        venue=venue,
    )  # fmt: skip
    return within_race("d", at, venue=venue)
