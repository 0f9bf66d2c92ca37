from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from tracking.sim.testrace import load_test_race_create


class Command(BaseCommand):
    help = "Create (or extend) a public test race open for tracking now (PROTOCOL.md §4)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--athletes", type=int, default=100)
        parser.add_argument("--json", action="store_true", help="print the race as JSON")

    def handle(self, *args: Any, athletes: int, **options: Any) -> None:
        if not 1 <= athletes <= 100_000:
            self.stderr.write("--athletes must be between 1 and 100000")
            raise SystemExit(2)
        race = load_test_race_create(athletes=athletes)
        if options["json"]:
            self.stdout.write(json.dumps(race))
        else:
            self.stdout.write(
                f"test race {race['race_id']}: /live/{race['event_slug']}/{race['race_slug']}/ "
                f"with {len(race['athletes'])} athletes"
            )
