"""An event's chip file uploaded from the admin: chips mapped to bibs, replacing old bibs."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from events.models import Event
from results.models import ChipMapping
from results.readfiles.base import ParsedFile
from results.readfiles.chipfile import parse_chip_file


@dataclass
class ChipImport:
    created: int
    updated: int
    report: ParsedFile


def chip_mappings_import(*, event: Event, data: bytes) -> ChipImport:
    """Map the file's chips to their bibs in ``event`` (a chip already mapped takes the
    file's bib). Raises ``ReadFileError`` when the file cannot be read at all."""
    parsed = parse_chip_file(data)
    with transaction.atomic():
        existing = {
            m.chip: m
            for m in ChipMapping.objects.select_for_update().filter(
                event=event, chip__in=list(parsed.mappings)
            )
        }
        changed = [m for chip, m in existing.items() if m.bib != parsed.mappings[chip]]
        for mapping in changed:
            mapping.bib = parsed.mappings[mapping.chip]
        ChipMapping.objects.bulk_update(changed, ["bib"], batch_size=1000)
        new = [
            ChipMapping(event=event, chip=chip, bib=bib)
            for chip, bib in parsed.mappings.items()
            if chip not in existing
        ]
        ChipMapping.objects.bulk_create(new, batch_size=1000)
    return ChipImport(created=len(new), updated=len(changed), report=parsed.report)
