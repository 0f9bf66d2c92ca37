"""Re-seal every stored token with the current (first) key of PACE_TOKEN_KEYS."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from integrations import crypto
from integrations.locking import shared_lock
from integrations.models import Connection


class Command(BaseCommand):
    help = "Re-seal provider tokens sealed by an older key with PACE_TOKEN_KEYS' first key."

    def handle(self, *args: Any, **options: Any) -> None:
        current = crypto.current_key_id()
        stale = Connection.objects.exclude(token_key_id=current).exclude(token_key_id="")
        done = failed = 0
        for pk in stale.values_list("pk", flat=True).iterator():
            # The refresh lock: a refresh storing newer tokens meanwhile must not be undone.
            with shared_lock(f"token-refresh:{pk}", ttl=60.0, wait=20.0), transaction.atomic():
                connection = Connection.objects.select_for_update().get(pk=pk)
                try:
                    changed = connection.reseal()
                except crypto.TokenDecryptError as exc:
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
