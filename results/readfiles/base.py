"""What every timing-file layout shares: the types a parser returns, decoding of the bytes,
times at the venue, and the checks of the text cells.

Pure functions, no database: a parser gets bytes, the venue's zone and the race day, and
returns the reads it could read plus one ``Problem`` per line it could not (line number,
column, why). A file that cannot be read at all (binary, too large, no header) raises
``ReadFileError``; nothing else escapes a parser (the property tests hold them to it).
"""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import re
import zoneinfo
from dataclasses import dataclass, field

from events.localtime import NonexistentLocalTimeError, venue_datetime

UTC = dt.UTC

# An upload past these is refused whole: a real decoder file of a big race (30,000
# athletes, a few points) is a few MB and ~200,000 lines at most.
MAX_BYTES = 30 * 1024 * 1024
MAX_LINES = 250_000
MAX_LINE_CHARS = 2_000
# Problems kept to show: past this only counted (a wrong file has a problem per line).
MAX_PROBLEMS = 1_000

# Reads more than this before or after the race day are a wrong date, not a long race.
DAYS_BEFORE = 1
DAYS_AFTER = 14


class ReadFileError(ValueError):
    """A file that cannot be read at all; the message says why, for the organizer."""


@dataclass(frozen=True, slots=True)
class ParsedRead:
    """One read of a file: who (a bib, or a chip to map), where (a point's name, or "" when
    the file names none), when (aware UTC, whole milliseconds), and its read id."""

    line: int
    bib: str
    chip: str
    point: str
    at: dt.datetime
    read_id: str


@dataclass(frozen=True, slots=True)
class Problem:
    line: int
    column: str
    reason: str


@dataclass
class ParsedFile:
    layout: str
    reads: list[ParsedRead] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    lines: int = 0

    def problem(self, line: int, column: str, reason: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(line=line, column=column, reason=reason))


@dataclass(frozen=True)
class Venue:
    """Where and when the race runs: typed times are wall-clock times there."""

    zone: zoneinfo.ZoneInfo
    race_day: dt.date


class LineError(Exception):
    """A cell that cannot be read: the parser turns it into a ``Problem`` of its line."""

    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column, self.reason = column, reason


# --- Bytes to lines -------------------------------------------------------------------


def decode(data: bytes) -> str:
    """The file's text: UTF-8 (with or without BOM), UTF-16 with a BOM (Excel's "Unicode
    text"), else Windows-1252 (older decoder software), as timing exports come."""
    if len(data) > MAX_BYTES:
        raise ReadFileError(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB.")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise ReadFileError("The file says it is UTF-16 but is not.") from exc
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    if b"\x00" in data:
        raise ReadFileError("This is a binary file, not a text export of a decoder.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    head = text[:4096]
    controls = sum(1 for c in head if c < " " and c not in "\t\r\n")
    if head and controls * 20 > len(head):
        raise ReadFileError("This is a binary file, not a text export of a decoder.")
    return text


def split_lines(text: str) -> list[str]:
    """Lines as an editor numbers them (\\r\\n, \\n or \\r), not ``str.splitlines``'s more."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) > MAX_LINES:
        raise ReadFileError(f"The file has more than {MAX_LINES:,} lines.")
    return lines


# --- Cells ------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_BIB = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,19}")
_CHIP = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_READ_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/#-]{0,99}")
_POINT_MAX = 100


def _refuse_formula(column: str, value: str) -> None:
    if value.startswith(_FORMULA_START):
        raise LineError(column, f"starts with {value[0]!r}: a spreadsheet formula, not a {column}")


def bib_cell(value: str) -> str:
    value = value.strip()
    _refuse_formula("bib", value)
    if not _BIB.fullmatch(value):
        raise LineError(
            "bib", f"{_shown(value)} is not a bib (letters, digits, . _ / -; 20 at most)"
        )
    return value


def chip_cell(value: str) -> str:
    value = value.strip()
    _refuse_formula("chip", value)
    if not _CHIP.fullmatch(value):
        raise LineError("chip", f"{_shown(value)} is not a chip code (letters, digits, . _ : -)")
    return value


def read_id_cell(value: str) -> str:
    value = value.strip()
    _refuse_formula("id", value)
    if not _READ_ID.fullmatch(value):
        raise LineError("id", f"{_shown(value)} is not a read id (letters, digits, . _ : / # -)")
    return value


def point_cell(value: str) -> str:
    value = value.strip()
    _refuse_formula("point", value)
    if len(value) > _POINT_MAX or not value.isprintable():
        raise LineError("point", f"{_shown(value)} is not a timing point's name")
    return value


def _shown(value: str) -> str:
    """A cell quoted for a reason, cut short and with control characters made visible."""
    short = value if len(value) <= 40 else value[:40] + "…"
    return repr(short) if short else "an empty cell"


def content_id(*parts: str) -> str:
    """A read id from what a read is, for files that number their reads per session (a
    renumbered or re-exported file keeps its reads' ids, so importing it twice is a no-op)."""
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=10).hexdigest()
    return f"h-{digest}"


# --- Times ------------------------------------------------------------------------------

_CLOCK = r"(\d{1,2}):(\d{2}):(\d{2})(?:[.,](\d{1,6}))?"
_TIME_OF_DAY = re.compile(_CLOCK)
_DATE_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})[T ]" + _CLOCK + r"(Z|[+-]\d{2}:?\d{2})?")


def _micro(fraction: str | None) -> int:
    """Whole milliseconds of a fraction of a second (timing truncates, it never rounds up)."""
    if not fraction:
        return 0
    return int(fraction.ljust(6, "0")) // 1000 * 1000


def local_time(
    column: str,
    *,
    day: dt.date,
    hours: str,
    minutes: str,
    seconds: str,
    fraction: str | None,
    venue: Venue,
) -> dt.datetime:
    """A wall-clock time at the venue on ``day``, as UTC."""
    h, m, s = int(hours), int(minutes), int(seconds)
    if h > 23 or m > 59 or s > 59:
        raise LineError(column, f"{hours}:{minutes}:{seconds} is not a time of day")
    naive = dt.datetime.combine(day, dt.time(h, m, s, _micro(fraction)))
    try:
        at, _ambiguous = venue_datetime(naive, zone=venue.zone)
    except NonexistentLocalTimeError:
        raise LineError(
            column,
            f"{naive:%Y-%m-%d %H:%M:%S} does not exist in {venue.zone.key} (clocks go forward)",
        ) from None
    return at


def time_of_day(column: str, value: str, *, venue: Venue, day_offset: int = 0) -> dt.datetime:
    """``HH:MM:SS[.fff]`` on the race day (plus ``day_offset`` days) at the venue, as UTC."""
    match = _TIME_OF_DAY.fullmatch(value.strip())
    if not match:
        raise LineError(column, f"{_shown(value)} is not a time (HH:MM:SS.fff)")
    day = venue.race_day + dt.timedelta(days=day_offset)
    return local_time(
        column,
        day=day,
        hours=match[1],
        minutes=match[2],
        seconds=match[3],
        fraction=match[4],
        venue=venue,
    )


def date_time(column: str, value: str, *, venue: Venue) -> dt.datetime:
    """``YYYY-MM-DD HH:MM:SS[.fff]`` at the venue, or with ``Z``/``+02:00`` an absolute
    instant; as UTC."""
    match = _DATE_TIME.fullmatch(value.strip())
    if not match:
        raise LineError(column, f"{_shown(value)} is not a date and time (YYYY-MM-DD HH:MM:SS.fff)")
    try:
        day = dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise LineError(column, f"{match[1]}-{match[2]}-{match[3]} is not a date") from None
    offset = match[8]
    if offset is None:
        at = local_time(
            column,
            day=day,
            hours=match[4],
            minutes=match[5],
            seconds=match[6],
            fraction=match[7],
            venue=venue,
        )
    else:
        at = _with_offset(column, day, match, offset)
    return within_race(column, at, venue=venue)


def _with_offset(column: str, day: dt.date, match: re.Match[str], offset: str) -> dt.datetime:
    h, m, s = int(match[4]), int(match[5]), int(match[6])
    if h > 23 or m > 59 or s > 59:
        raise LineError(column, f"{match[4]}:{match[5]}:{match[6]} is not a time of day")
    if offset == "Z":
        zone = UTC
    else:
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        minutes = int(digits[:2]) * 60 + int(digits[2:])
        if minutes >= 24 * 60:
            raise LineError(column, f"{offset} is not a UTC offset")
        zone = dt.timezone(sign * dt.timedelta(minutes=minutes))
    local = dt.datetime.combine(day, dt.time(h, m, s, _micro(match[7])), tzinfo=zone)
    return local.astimezone(UTC)


def within_race(column: str, at: dt.datetime, *, venue: Venue) -> dt.datetime:
    """``at``, if it falls near the race day: a read a year off is a wrong date."""
    day = at.astimezone(venue.zone).date()
    first = venue.race_day - dt.timedelta(days=DAYS_BEFORE)
    last = venue.race_day + dt.timedelta(days=DAYS_AFTER)
    if not first <= day <= last:
        raise LineError(
            column, f"{day:%Y-%m-%d} is too far from the race day ({venue.race_day:%Y-%m-%d})"
        )
    return at


def epoch_time(column: str, value: str, *, venue: Venue) -> dt.datetime:
    """Unix time in seconds with an optional fraction (``1413615526.80``), as UTC."""
    match = re.fullmatch(r"(\d{9,10})(?:\.(\d{1,6}))?", value.strip())
    if not match:
        raise LineError(column, f"{_shown(value)} is not a Unix time in seconds")
    at = dt.datetime.fromtimestamp(int(match[1]), tz=UTC).replace(microsecond=_micro(match[2]))
    return within_race(column, at, venue=venue)
