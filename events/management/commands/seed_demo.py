from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from events.demo import seed_demo


class Command(BaseCommand):
    help = "Load demo organizers, members and events (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        result = seed_demo()
        self.stdout.write(f"Demo data ready ({result['created_events']} new events).")
        self.stdout.write(f"Logins (password {result['password']}):")
        for email, role in result["logins"]:
            self.stdout.write(f"  {email:<22} {role}")
