"""Re-seal every stored token with the current (first) key of PACE_TOKEN_KEYS: provider
tokens (integrations) and athletes' tracking tokens and device ids (tracking)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from django.core.management.base import BaseCommand
from django.db import models, transaction

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
        self._reseal(
            "connection",
            Connection.objects.exclude(token_key_id=current).exclude(token_key_id=""),
            ["access_token_sealed", "refresh_token_sealed", "token_key_id"],
            current,
            # The refresh lock: a refresh storing newer tokens meanwhile must not be undone.
            lock=lambda pk: shared_lock(f"token-refresh:{pk}", ttl=60.0, wait=20.0),
        )
        # A sealed copy names its key before "$": those of another key are re-sealed.
        prefix = current + sealing.SEPARATOR
        self._reseal(
            "tracker",
            Tracker.objects.exclude(
                token_sealed__startswith=prefix, device_sealed__startswith=prefix
            ).exclude(token_sealed__startswith=prefix, device_sealed=""),
            ["token_sealed", "device_sealed"],
            current,
        )

    def _reseal(
        self,
        label: str,
        stale: models.QuerySet[Any],
        fields: list[str],
        current: str,
        lock: Callable[[int], AbstractContextManager[Any]] | None = None,
    ) -> None:
        """Re-seal each row of ``stale`` locked (a token rotated meanwhile is not
        overwritten with the old one); one that no configured key opens is reported."""
        done = failed = 0
        for pk in stale.values_list("pk", flat=True).iterator():
            held = lock(pk) if lock else contextlib.nullcontext()
            with held, transaction.atomic():
                row = stale.model.objects.select_for_update().get(pk=pk)
                try:
                    changed = row.reseal()
                except sealing.TokenDecryptError as exc:
                    self.stderr.write(f"{label} {pk}: {exc}")
                    failed += 1
                    continue
                if changed:
                    row.save(update_fields=fields)
                    done += 1
        self.stdout.write(f"Re-sealed {done} {label}(s) with key {current}; {failed} failed.")
