"""Importing a decoder's file into a race in two steps: a preview, then the organizer's yes.

The upload's preview is kept server-side between the two (in the cache, compressed,
under a random key tied to the user and the race), never sent back through the browser:
what is stored on confirming is exactly the reads previewed, not the file read again (a
100,000-line file is parsed once). Nothing is stored before the organizer confirms, and
only the valid lines are.
"""

from __future__ import annotations

import pickle
import secrets
import zlib
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache

from events.models import Race
from results.models import TimingPoint, TimingRead
from results.readfiles import ParsedFile, Problem, ReadFileError, parse
from results.readfiles.base import MAX_PROBLEMS
from results.timing_reads import (
    NewRead,
    StoreOutcome,
    already_stored,
    chip_bibs,
    race_venue,
    reads_store,
    venue_clock,
)

SOURCE = TimingRead.Source.CHIP_FILE
PENDING_SECONDS = 60 * 60
PREVIEW_ROWS = 200


class ImportExpiredError(Exception):
    """The upload to confirm is no longer kept (or is someone else's): upload it again."""


@dataclass
class ImportPreview:
    layout: str
    filename: str
    point: TimingPoint | None
    reads: list[NewRead] = field(default_factory=list)
    lines: dict[str, int] = field(default_factory=dict)  # read id → line, for the table
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    duplicates: int = 0

    @property
    def new_reads(self) -> int:
        return len(self.reads) - self.duplicates


def _points(race: Race) -> dict[str, TimingPoint]:
    return {p.name.strip().lower(): p for p in TimingPoint.objects.filter(race=race)}


def _preview(
    *,
    race: Race,
    parsed: ParsedFile,
    point: TimingPoint | None,
    filename: str,
) -> ImportPreview:
    preview = ImportPreview(layout=parsed.layout, filename=filename, point=point)
    points, problems = _points(race), list(parsed.problems)
    count = parsed.problem_count
    reads, lines = preview.reads, preview.lines
    for read in parsed.reads:
        found = points.get(read.point.lower()) if read.point else point
        if found is None:
            count += 1
            names = ", ".join(sorted(p.name for p in points.values())) or "none yet"
            reason = (
                f"no timing point named {read.point!r} in this race (its points: {names})"
                if read.point
                else "the file names no timing point: choose one for it"
            )
            problems.append(Problem(line=read.line, column="point", reason=reason))
            continue
        reads.append(NewRead(found, read.at, read.bib, read.chip, read.read_id))
        if len(lines) < PREVIEW_ROWS:
            lines[read.read_id] = read.line
    preview.problems = sorted(problems, key=lambda p: p.line)[:MAX_PROBLEMS]
    preview.problem_count = count
    ids = (r.read_id for r in preview.reads)
    preview.duplicates = len(already_stored(race=race, source=SOURCE, read_ids=ids))
    return preview


def import_stage(
    *, race: Race, user: Any, data: bytes, layout: str, point: TimingPoint | None, filename: str
) -> tuple[str, ImportPreview]:
    """Read an uploaded file and keep it for confirming; its key and its preview.

    Raises ``ReadFileError`` when the file cannot be read at all, or names no timing point
    and none is chosen (nothing is kept).
    """
    parsed = parse(data, layout=layout, venue=race_venue(race))
    if point is None and parsed.reads and not any(read.point for read in parsed.reads):
        # Asked once, up front, rather than as the same problem on every line.
        raise ReadFileError(
            "This file names no timing point (a RACE RESULT decoder's never does): "
            "choose the point where its decoder stood."
        )
    preview = _preview(race=race, parsed=parsed, point=point, filename=filename)
    key = secrets.token_urlsafe(18)
    # The preview itself is kept (its reads as plain tuples, points by id), so confirming
    # stores what the organizer saw without parsing the file again.
    kept = {
        "layout": preview.layout,
        "filename": filename,
        "point": point.pk if point else None,
        "reads": [(r.point.pk, r.at, r.bib, r.chip, r.read_id) for r in preview.reads],
        "lines": preview.lines,
        "problems": [(p.line, p.column, p.reason) for p in preview.problems],
        "problem_count": preview.problem_count,
        "duplicates": preview.duplicates,
    }
    pending = {
        "user": user.pk,
        "race": race.pk,
        "preview": zlib.compress(pickle.dumps(kept, pickle.HIGHEST_PROTOCOL), 1),
    }
    cache.set(_cache_key(key), pending, PENDING_SECONDS)
    return key, preview


def _cache_key(key: str) -> str:
    return f"results.import.{key}"


def import_preview(*, race: Race, user: Any, key: str) -> ImportPreview:
    """The kept preview of an upload (only its uploader's, in its race)."""
    pending = cache.get(_cache_key(key)) if key.isascii() and len(key) < 64 else None
    if not pending or pending.get("user") != user.pk or pending.get("race") != race.pk:
        raise ImportExpiredError("This upload is no longer kept: upload the file again.")
    # Our own entry, written by import_stage above (the cache pickles every value anyway).
    kept = pickle.loads(zlib.decompress(pending["preview"]))
    points = {p.pk: p for p in TimingPoint.objects.filter(race=race)}
    if any(point_id not in points for point_id in {r[0] for r in kept["reads"]}):
        raise ImportExpiredError(
            "A timing point of this upload was removed since: upload the file again."
        )
    preview = ImportPreview(
        layout=kept["layout"], filename=kept["filename"], point=points.get(kept["point"]),
        reads=[NewRead(points[p], at, bib, chip, rid) for p, at, bib, chip, rid in kept["reads"]],
        lines=kept["lines"], problems=[Problem(*p) for p in kept["problems"]],
        problem_count=kept["problem_count"], duplicates=kept["duplicates"],
    )  # fmt: skip
    return preview


def import_confirm(*, race: Race, user: Any, key: str) -> StoreOutcome:
    """Store the valid reads of a kept upload (as previewed), once; the upload is dropped."""
    preview = import_preview(race=race, user=user, key=key)
    outcome = reads_store(race=race, source=SOURCE, reads=preview.reads, actor=user)
    cache.delete(_cache_key(key))
    return outcome


@dataclass(frozen=True)
class PreviewRow:
    line: int
    point: str
    bib: str
    chip: str
    at: str
    athlete: str
    duplicate: bool


def preview_rows(
    *, race: Race, preview: ImportPreview, limit: int = PREVIEW_ROWS
) -> list[PreviewRow]:
    """The first valid lines as the organizer checks them: whose bib, which athlete."""
    reads = preview.reads[:limit]
    mapped = chip_bibs(race=race, chips=(r.chip for r in reads if not r.bib))
    bibs = [r.bib or mapped.get(r.chip, r.chip) for r in reads]
    names = {
        reg.bib: f"{reg.first_name} {reg.last_name}".strip()
        for reg in race.registrations.filter(bib__in=set(bibs)).only(
            "bib", "first_name", "last_name"
        )
    }
    stored = already_stored(race=race, source=SOURCE, read_ids=(r.read_id for r in reads))
    zone = race.event.local_tz
    return [
        PreviewRow(
            line=preview.lines.get(read.read_id, 0),
            point=read.point.name,
            bib=bib if bib in names or read.bib else "",
            chip=read.chip,
            at=venue_clock(read.at, zone, date=True),
            athlete=names.get(bib, ""),
            duplicate=read.read_id in stored,
        )
        for read, bib in zip(reads, bibs, strict=True)
    ]
