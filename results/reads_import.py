"""Importing a decoder's file into a race in two steps: a preview, then the organizer's yes.

The upload is kept server-side between the two (in the cache, compressed, under a random
key tied to the user and the race), never sent back through the browser: what is stored
on confirming is what was previewed, read again from the same bytes. Nothing is stored
before the organizer confirms, and only the valid lines are.
"""

from __future__ import annotations

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
    count_duplicates: bool = True,
) -> ImportPreview:
    preview = ImportPreview(layout=parsed.layout, filename=filename, point=point)
    points, problems = _points(race), list(parsed.problems)
    count = parsed.problem_count
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
        preview.reads.append(
            NewRead(point=found, at=read.at, bib=read.bib, chip=read.chip, read_id=read.read_id)
        )
        preview.lines[read.read_id] = read.line
    preview.problems = sorted(problems, key=lambda p: p.line)[:MAX_PROBLEMS]
    preview.problem_count = count
    if count_duplicates:  # storing finds them anyway: not asked twice on confirming
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
    pending = {
        "user": user.pk,
        "race": race.pk,
        "layout": parsed.layout,
        "point": point.pk if point else None,
        "filename": filename,
        "data": zlib.compress(data, 1),
    }
    cache.set(_cache_key(key), pending, PENDING_SECONDS)
    return key, preview


def _cache_key(key: str) -> str:
    return f"results.import.{key}"


def _pending(*, race: Race, user: Any, key: str) -> tuple[dict[str, Any], ParsedFile]:
    pending = cache.get(_cache_key(key)) if key.isascii() and len(key) < 64 else None
    if not pending or pending["user"] != user.pk or pending["race"] != race.pk:
        raise ImportExpiredError("This upload is no longer kept: upload the file again.")
    try:
        parsed = parse(
            zlib.decompress(pending["data"]), layout=pending["layout"], venue=race_venue(race)
        )
    except ReadFileError as exc:  # the race's day or zone changed since the upload
        raise ImportExpiredError(str(exc)) from exc
    return pending, parsed


def import_preview(
    *, race: Race, user: Any, key: str, count_duplicates: bool = True
) -> ImportPreview:
    pending, parsed = _pending(race=race, user=user, key=key)
    point = TimingPoint.objects.filter(race=race, pk=pending["point"]).first()
    return _preview(
        race=race, parsed=parsed, point=point, filename=pending["filename"],
        count_duplicates=count_duplicates,
    )  # fmt: skip


def import_confirm(*, race: Race, user: Any, key: str) -> StoreOutcome:
    """Store the valid reads of a kept upload (as previewed), once; the upload is dropped."""
    preview = import_preview(race=race, user=user, key=key, count_duplicates=False)
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
