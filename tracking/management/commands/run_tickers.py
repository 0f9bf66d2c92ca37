from __future__ import annotations

import asyncio
from typing import Any

from django.core.management.base import BaseCommand

from pace.daphne_patches.gctune import tune_for_server
from tracking.live.ticker import TickerRunner


class Command(BaseCommand):
    help = "Run live races' tickers (production topology); more processes spread the races."

    def handle(self, *args: Any, **options: Any) -> None:
        tune_for_server()
        runner = TickerRunner()
        self.stdout.write(f"ticker runner {runner.owner} every {runner.tick}s")
        asyncio.run(runner.run())
