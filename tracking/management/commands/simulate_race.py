from __future__ import annotations

import asyncio
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from events.models import Race
from tracking.sim.roster import sim_trackers_ensure
from tracking.sim.simulator import Simulation, wait_for_server


class Command(BaseCommand):
    help = (
        "Drive a race with simulated athletes: phones over /ws/track/ and OsmAnd apps over "
        "/osmand/, against a running server."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("race_id", type=int)
        parser.add_argument("--athletes", type=int, default=50)
        parser.add_argument("--speed", type=float, default=1.0, help="time multiplier (10 = 10x)")
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="the running server")
        parser.add_argument("--osmand-share", type=float, default=0.2)
        parser.add_argument(
            "--duration", type=float, default=0, help="stop after this many seconds (0: at the end)"
        )
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--off-course",
            type=int,
            default=0,
            help="send this many athletes 800 m off the course after 300 m (race control)",
        )
        parser.add_argument(
            "--wait", type=float, default=0, help="wait this long for the server to answer first"
        )

    def handle(self, *args: Any, race_id: int, **options: Any) -> None:
        if options["athletes"] < 1 or not 0 < options["speed"] <= 1000:
            raise CommandError("--athletes must be at least 1 and --speed in (0, 1000]")
        if not 0 <= options["osmand_share"] <= 1:
            raise CommandError("--osmand-share must be between 0 and 1")
        if options["wait"] and not wait_for_server(options["url"], timeout=options["wait"]):
            raise CommandError(f"{options['url']} did not answer within {options['wait']:g} s")
        try:
            race, athletes, available = sim_trackers_ensure(
                race_id=race_id, athletes=options["athletes"]
            )
        except Race.DoesNotExist:
            raise CommandError(f"no race {race_id}") from None
        if not athletes:
            raise CommandError(f"race {race_id} has no confirmed athlete with a valid tracker")
        if options["athletes"] > available:
            self.stdout.write(
                f"race {race_id} has {available} confirmed athletes: simulating those, "
                f"not {options['athletes']}"
            )
        self.stdout.write(
            f"simulating {len(athletes)} athletes of {race.name} at {options['speed']:g}x "
            f"against {options['url']}"
        )
        simulation = Simulation(
            race=race,
            athletes=athletes,
            base_url=options["url"].rstrip("/"),
            speed=options["speed"],
            osmand_share=options["osmand_share"],
            duration=options["duration"],
            seed=options["seed"],
            off_course=max(0, options["off_course"]),
            report=lambda line: self.stdout.write(line),
        )
        try:
            asyncio.run(simulation.run())
        except KeyboardInterrupt:
            self.stdout.write(simulation.stats.line(simulation.runners))
