"""Signals results sends to whatever follows a race's results."""

from __future__ import annotations

from django.dispatch import Signal

# Sent after commit by every transaction that took a race's results lock
# (``compute.lock_race``: a recompute, live reads, publishing, an audited change), with
# ``race_id``. The race's results may have changed; listeners (series standings) read
# them again, and may be told twice (a publication recomputes, then locks again).
results_changed = Signal()
