"""Re-seal every stored token with the current (first) key of PACE_TOKEN_KEYS: provider
tokens (integrations) and athletes' tracking tokens and device ids (tracking)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from integrations.locking import shared_lock
from integrations.models import Connection
from pace.lib import sealing
from tracking.models import Tracker


class Command(BaseCommand):
    help = (
        "Re-seal provider tokens, tracking tokens and device ids sealed by an older key "
        "with PACE_TOKEN_KEYS' first key."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        current = sealing.current_key_id()
        stale = Connection.objects.exclude(token_key_id=current).exclude(token_key_id="")
        done = failed = 0
        for pk in stale.values_list("pk", flat=True).iterator():
            # The refresh lock: a refresh storing newer tokens meanwhile must not be undone.
            with shared_lock(f"token-refresh:{pk}", ttl=60.0, wait=20.0), transaction.atomic():
                connection = Connection.objects.select_for_update().get(pk=pk)
                try:
                    changed = connection.reseal()
                except sealing.TokenDecryptError as exc:
                    self.stderr.write(f"connection {pk}: {exc}")
                    failed += 1
                    continue
                if changed:
                    connection.save(
                        update_fields=[
                            "access_token_sealed",
                            "refresh_token_sealed",
                            "token_key_id",
                        ]
                    )
                    done += 1
        self.stdout.write(f"Re-sealed {done} connection(s) with key {current}; {failed} failed.")
        self._reseal_trackers(current)

    def _reseal_trackers(self, current: str) -> None:
        # A sealed copy names its key before "$": those of another key are re-sealed, each
        # row locked so that a token rotated meanwhile is not overwritten with the old one.
        prefix = current + sealing.SEPARATOR
        stale = Tracker.objects.exclude(
            token_sealed__startswith=prefix,
            device_sealed__startswith=prefix,
        ).exclude(token_sealed__startswith=prefix, device_sealed="")
        done = failed = 0
        for pk in stale.values_list("pk", flat=True).iterator():
            with transaction.atomic():
                tracker = Tracker.objects.select_for_update().get(pk=pk)
                try:
                    changed = tracker.reseal()
                except sealing.TokenDecryptError as exc:
                    self.stderr.write(f"tracker {pk}: {exc}")
                    failed += 1
                    continue
                if changed:
                    tracker.save(update_fields=["token_sealed", "device_sealed"])
                    done += 1
        self.stdout.write(f"Re-sealed {done} tracker(s) with key {current}; {failed} failed.")
