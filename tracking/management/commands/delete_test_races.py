from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from tracking.sim.testrace import load_test_races_delete


class Command(BaseCommand):
    help = "Delete every test race made by create_test_race, with its athletes and fixes."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"deleted {load_test_races_delete()} test race event(s)")
