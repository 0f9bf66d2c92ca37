"""The decoder-file part of ``bench.results``: a 100,000-line file through the admin's two
steps (parse and preview, then store and recompute once), and each parser alone.

Issue 13's target: a 100,000-line decoder file imported in < 10 s.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

FILE_LINES = 100_000
LAYOUT_LINES = {
    "generic": "{i},{day}T{h:02d}:{m:02d}:{s:02d}.{ms:03d}Z,Finish",
    "raceresult": "{i};{i};0000-00-00;{h:02d}:{m:02d}:{s:02d}.{ms:03d};0;12;27;;0;1;1;0;B;1",
    "chronotrack": "CT01_33~{i}~Finish~{i}~{h:02d}:{m:02d}:{s:02d}.{ms:03d}~0~0F2A38~1",
}


def decoder_file(data: dict[str, Any], lines: int) -> bytes:
    """The first ``lines`` chip reads of the race as a timing company would send them:
    Pace's generic CSV with a read id (a second source beside the chip reads stored)."""
    rows = ["id,bib,time,point"]
    for n, (at, point, entry, source) in enumerate(data["reads"]):
        if source == "chip_file":
            stamp = at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
            rows.append(f"f{n},{entry.bib},{stamp}Z,{point.name}")
        if len(rows) > lines:
            break
    return ("\n".join(rows) + "\n").encode()


def file_import(race: Any, data: dict[str, Any]) -> dict[str, Any]:
    """A 100,000-line file through the admin's two steps, and each parser alone."""
    from django.contrib.auth import get_user_model

    from results.readfiles import parse
    from results.reads_import import import_confirm, import_stage
    from results.timing_reads import race_venue

    user = get_user_model().objects.create_user("bench-timer", "t@example.com", "-")
    body = decoder_file(data, FILE_LINES)
    started, cpu = time.monotonic(), time.process_time()
    key, preview = import_stage(
        race=race, user=user, data=body, layout="generic", point=None, filename="bench.csv"
    )
    staged_s = time.monotonic() - started
    outcome = import_confirm(race=race, user=user, key=key)
    report: dict[str, Any] = {
        "lines": body.count(b"\n") - 1,
        "bytes": len(body),
        "stage_s": round(staged_s, 2),
        "total_s": round(time.monotonic() - started, 2),
        "python_cpu_s": round(time.process_time() - cpu, 2),
        "problems": preview.problem_count,
        "stored": outcome.stored_count,
        "parse_cpu_s": {},
    }
    venue = race_venue(race)
    for layout, line in LAYOUT_LINES.items():
        rows = (
            line.format(
                i=i,
                day=race.start_time.date(),
                h=8 + i // 3600 % 8,
                m=i // 60 % 60,
                s=i % 60,
                ms=i % 1000,
            )
            for i in range(FILE_LINES)
        )
        text = ("bib,time,point\n" if layout == "generic" else "") + "\n".join(rows)
        cpu = time.process_time()
        parsed = parse(text.encode(), layout=layout, venue=venue)
        report["parse_cpu_s"][layout] = round(time.process_time() - cpu, 2)
        report.setdefault("parse_problems", {})[layout] = parsed.problem_count
    return report
