"""Timing files from decoders, read without the database: ``parse(data, layout=..., venue=...)``.

Layouts: ``generic`` (Pace's CSV), ``raceresult`` (RACE RESULT passings),
``chronotrack`` (ChronoTrack CT01_33) and ``mylaps`` (MYLAPS passing messages); ``auto``
tells them apart by the first line. Each module's docstring says what its layout is based
on.
"""

from __future__ import annotations

from collections.abc import Callable

from results.readfiles import chronotrack, generic, mylaps, raceresult
from results.readfiles.base import (
    MAX_LINE_CHARS,
    LineError,
    ParsedFile,
    ParsedRead,
    Problem,
    ReadFileError,
    Venue,
    decode,
    split_lines,
)

__all__ = ["LAYOUTS", "ParsedFile", "ParsedRead", "Problem", "ReadFileError", "Venue", "parse"]

LAYOUTS = {
    "auto": "Recognise it",
    generic.NAME: "Pace CSV (bib or chip, time, point)",
    raceresult.NAME: "RACE RESULT passings",
    chronotrack.NAME: "ChronoTrack (CT01_33)",
    mylaps.NAME: "MYLAPS passings (Location@Passing@t=…|c=…)",
}

LineParser = Callable[[int, str], ParsedRead | list[ParsedRead | LineError] | None]


def detect(first_line: str) -> str:
    if chronotrack.looks_like(first_line):
        return chronotrack.NAME
    if mylaps.looks_like(first_line):
        return mylaps.NAME
    if raceresult.looks_like(first_line):
        return raceresult.NAME
    return generic.NAME


def _line_parser(layout: str, lines: list[str], venue: Venue) -> tuple[LineParser, int]:
    """The parser of one line, and the index of the first line it reads."""
    if layout == raceresult.NAME:
        return (lambda n, line: raceresult.parse_line(n, line, venue=venue)), 0
    if layout == chronotrack.NAME:
        return (lambda n, line: chronotrack.parse_line(n, line, venue=venue)), 0
    if layout == mylaps.NAME:
        return (lambda n, line: mylaps.parse_line(n, line, venue=venue)), 0
    header = next((i for i, line in enumerate(lines) if line.strip()), None)
    if header is None:
        raise ReadFileError("The file is empty.")
    if len(lines[header]) > MAX_LINE_CHARS:
        raise ReadFileError("The first line is too long to be a header.")
    return generic.line_parser(lines[header], venue=venue), header + 1


def _add(
    parsed: ParsedFile, seen: dict[str, int], number: int, read: ParsedRead | LineError
) -> None:
    if isinstance(read, LineError):
        parsed.problem(number, read.column, read.reason)
    elif read.read_id in seen:
        parsed.problem(number, "id", f"the same read as line {seen[read.read_id]}")
    else:
        seen[read.read_id] = number
        parsed.reads.append(read)


def parse(data: bytes, *, layout: str, venue: Venue) -> ParsedFile:
    """The reads of a timing file and a problem for each line that is not one.

    Raises ``ReadFileError`` (only) when the file cannot be read at all.
    """
    if layout not in LAYOUTS:
        raise ReadFileError(f"Unknown file layout {layout[:30]!r}.")
    lines = split_lines(decode(data))
    if layout == "auto":
        layout = detect(next((line for line in lines if line.strip()), ""))
    parse_line, start = _line_parser(layout, lines, venue)
    parsed = ParsedFile(layout=layout, lines=len(lines))
    seen: dict[str, int] = {}
    for index in range(start, len(lines)):
        line, number = lines[index], index + 1
        if not line.strip():
            continue
        if len(line) > MAX_LINE_CHARS:
            parsed.problem(number, "line", f"longer than {MAX_LINE_CHARS} characters")
            continue
        try:
            found = parse_line(number, line)
        except LineError as exc:
            parsed.problem(number, exc.column, exc.reason)
            continue
        if found is None:
            continue
        # A line is one read, or (a MYLAPS message) several, each read or refused.
        for read in found if isinstance(found, list) else (found,):
            _add(parsed, seen, number, read)
    if not parsed.reads and not parsed.problem_count:
        raise ReadFileError("The file holds no reads.")
    return parsed
