"""An event's chip file: which bib each timing chip belongs to, two columns a line.

``chip,bib`` (or ``;``/tab separated), with or without a header naming them (``chip``,
``chip code``, ``transponder``, ``tag`` / ``bib``, ``bib number``, ``number``), as RACE
RESULT's chip file and most timers' spreadsheets keep them.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field

from results.readfiles.base import (
    MAX_LINE_CHARS,
    LineError,
    ParsedFile,
    ReadFileError,
    bib_cell,
    chip_cell,
    decode,
    split_lines,
)

_CHIP_NAMES = {"chip", "chip code", "transponder", "tag"}
_BIB_NAMES = {"bib", "bib number", "number", "start number"}


@dataclass
class ChipFile:
    mappings: dict[str, str] = field(default_factory=dict)  # chip → bib
    report: ParsedFile = field(default_factory=lambda: ParsedFile(layout="chipfile"))


def _columns(first: list[str]) -> tuple[int, int, bool]:
    """Where the chip and the bib are, and whether the first line is a header."""
    names = [c.strip().lower() for c in first]
    chip = next((i for i, n in enumerate(names) if n in _CHIP_NAMES), None)
    bib = next((i for i, n in enumerate(names) if n in _BIB_NAMES), None)
    if chip is not None and bib is not None:
        return chip, bib, True
    return 0, 1, False


def parse_chip_file(data: bytes) -> ChipFile:
    """The mappings of a chip file and a problem per line that is not one (a chip listed
    twice keeps its first bib). Raises ``ReadFileError`` only."""
    lines = split_lines(decode(data))
    numbered = [(i + 1, line) for i, line in enumerate(lines) if line.strip()]
    if not numbered:
        raise ReadFileError("The file is empty.")
    delimiter = max((",", ";", "\t"), key=numbered[0][1].count)
    rows = []
    for number, line in numbered:
        try:
            rows.append((number, next(csv.reader([line[:MAX_LINE_CHARS]], delimiter=delimiter))))
        except csv.Error:
            rows.append((number, []))
    chip_at, bib_at, header = _columns(rows[0][1])
    result = ChipFile()
    seen: dict[str, int] = {}
    for number, cells in rows[1:] if header else rows:
        try:
            if len(cells) <= max(chip_at, bib_at):
                raise LineError("line", "needs a chip and a bib")
            chip, bib = chip_cell(cells[chip_at]), bib_cell(cells[bib_at])
        except LineError as exc:
            result.report.problem(number, exc.column, exc.reason)
            continue
        if chip in seen:
            result.report.problem(number, "chip", f"chip {chip} is already on line {seen[chip]}")
            continue
        seen[chip] = number
        result.mappings[chip] = bib
    return result
