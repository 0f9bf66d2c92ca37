"""The demo: each app seeds its own part, lowest first, in one transaction.

An app's part builds on what the apps below it made in this run (payments pay for
the entries the core added; tracking clears the races the core started over), so
a failure anywhere leaves nothing half made and the next run starts clean.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from events import demo as events_demo
from integrations import demo as integrations_demo
from payments import demo as payments_demo
from results import demo_stages as stages_demo
from results import demo_timing as timing_demo
from results.demo_editions import DEMO_ATHLETE
from tracking.sim import demo as tracking_demo


class Command(BaseCommand):
    help = "Load demo organizers, members, events, entries and the live race (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            core = events_demo.demo_seed()
            payments_demo.demo_seed(entries=core.entries)
            tracking_demo.demo_seed(restarted=core.restarted)
            timing = timing_demo.demo_seed(restarted=core.restarted)
            payments_demo.demo_seed(entries=timing.entries)  # earlier editions' entries
            # The stage race's riders enter every stage: free entries, settled like the core's.
            payments_demo.demo_seed(entries=stages_demo.demo_seed())
            runner = get_user_model().objects.filter(email=DEMO_ATHLETE).first()
            music_activity = integrations_demo.demo_seed(user=runner) if runner else None
        self.stdout.write(f"Demo data ready ({core.created_events} new events).")
        for race in timing.timed:
            self.stdout.write(f"Results timed and published: {race.event.name}, {race.name}.")
        self.stdout.write(f"Logins (password {events_demo.DEMO_PASSWORD}):")
        for email, role in core.logins:
            self.stdout.write(f"  {email:<22} {role}")
        self.stdout.write(f"  {DEMO_ATHLETE:<22} an athlete with results (My results)")
        if music_activity:
            self.stdout.write(
                f"Music over a run: /me/activities/{music_activity}/ ({DEMO_ATHLETE})"
            )
