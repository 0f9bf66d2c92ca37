"""Reads pushed live by a decoder or timing app (``POST /timing/reads/``, README "Timing").

A batch is checked read by read: each gets ``stored``, ``duplicate`` (its id was stored
before: nothing new) or ``rejected`` with the reason per field. The token names the race;
a read names only a point of that race, and a bib or chip matched in that race's event, so
a token never reaches another race.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from results.models import TimingPoint, TimingRead, TimingToken
from results.points import ensure_timing_points
from results.readfiles.base import (
    LineError,
    Venue,
    bib_cell,
    chip_cell,
    date_time,
    point_cell,
    read_id_cell,
    time_of_day,
    within_race,
)
from results.timing_reads import NewRead, race_venue, reads_store

SOURCE = TimingRead.Source.PUSH
MAX_READS = 500
MAX_BODY_BYTES = 256 * 1024


class BatchError(ValueError):
    """A body that is not a batch of reads at all (400 with this reason)."""


@dataclass
class PushAnswer:
    status: int
    body: dict[str, Any]


def _text(read: dict[str, Any], name: str, *, required: bool = False) -> str:
    value = read.get(name)
    if value is None or value == "":
        if required:
            raise LineError(name, "missing")
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise LineError(name, "must be a string")
    return str(value)


def _time(read: dict[str, Any], venue: Venue) -> dt.datetime:
    if "time_ms" in read:
        value = read["time_ms"]
        if isinstance(value, bool) or not isinstance(value, int):
            raise LineError("time_ms", "must be an integer (milliseconds since 1970, UTC)")
        try:
            at = dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC)
        except (OverflowError, OSError, ValueError):
            raise LineError("time_ms", "is out of range") from None
        at = at.replace(microsecond=value % 1000 * 1000)
        return within_race("time_ms", at, venue=venue)
    raw = _text(read, "time", required=True)
    if "-" in raw[:10]:
        return date_time("time", raw, venue=venue)
    return time_of_day("time", raw, venue=venue)


def _read(read: Any, *, points: dict[str, TimingPoint], venue: Venue, seen: set[str]) -> NewRead:
    if not isinstance(read, dict):
        raise LineError("read", "must be an object")
    read_id = read_id_cell(_text(read, "id", required=True))
    if read_id in seen:
        raise LineError("id", "sent twice in this batch")
    seen.add(read_id)
    bib, chip = _text(read, "bib"), _text(read, "chip")
    if not bib and not chip:
        raise LineError("bib", "a read names a bib or a chip")
    bib = bib_cell(bib) if bib else ""
    chip = chip_cell(chip) if chip else ""
    name = point_cell(_text(read, "point", required=True))
    point = points.get(name.lower())
    if point is None:
        raise LineError("point", f"no timing point named {name!r} in this race")
    return NewRead(point=point, at=_time(read, venue), bib=bib, chip=chip, read_id=read_id)


def _batch(body: Any) -> list[Any]:
    if not isinstance(body, dict) or not isinstance(body.get("reads"), list):
        raise BatchError('The body must be a JSON object with a list "reads".')
    reads: list[Any] = body["reads"]
    if not reads:
        raise BatchError('"reads" is empty.')
    if len(reads) > MAX_READS:
        raise BatchError(f"At most {MAX_READS} reads a request; send the rest in another.")
    return reads


def push_reads(*, token: TimingToken, body: Any) -> PushAnswer:
    """Store a pushed batch in the token's race; the answer per read (README "Timing")."""
    race = token.race
    reads = _batch(body)
    # A race whose desk was never opened has its default points made here, not every read refused.
    points = {p.name.strip().lower(): p for p in ensure_timing_points(race=race)}
    venue, seen = race_venue(race), set[str]()
    results: list[dict[str, Any]] = []
    valid: list[NewRead] = []
    sent: list[tuple[dict[str, Any], NewRead]] = []
    for index, read in enumerate(reads):
        given = read.get("id") if isinstance(read, dict) else None
        entry: dict[str, Any] = {"index": index, "id": given if isinstance(given, str) else None}
        try:
            new = _read(read, points=points, venue=venue, seen=seen)
        except LineError as exc:
            entry.update(status="rejected", field=exc.column, reason=exc.reason)
        else:
            valid.append(new)
            sent.append((entry, new))
        results.append(entry)
    outcome = reads_store(race=race, source=SOURCE, reads=valid, token=token)
    # By the id as stored: an integer id (7) is the read "7", a duplicate when resent.
    for entry, new in sent:
        entry["status"] = "duplicate" if new.read_id in outcome.duplicates else "stored"
    counts = {
        s: sum(1 for e in results if e["status"] == s) for s in ("stored", "duplicate", "rejected")
    }
    status = 200 if not counts["rejected"] else (400 if counts["rejected"] == len(results) else 207)
    return PushAnswer(status=status, body={**counts, "results": results})
