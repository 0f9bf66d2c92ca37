"""Signals ``tracking`` sends to the apps above it, which it must not import."""

from __future__ import annotations

from django.dispatch import Signal

crossings_stored = Signal()
"""A race's ticker stored GPS split crossings (``SplitCrossing``, written in bulk, so no
``post_save``). Sent after they are written, outside any transaction, with ``race_id``
and ``crossings``: ``(registration_id, point name, time)`` tuples, times aware UTC.
Sent robustly from the ticker: a receiver's error is logged and never stops the race.
"""

sos_raised = Signal()
"""An athlete pressed SOS on the tracker (``tracking.ingest.sos.raise_sos``). Sent after
the ``SosCall`` is stored, with ``sos`` (the ``SosCall``, its registration and race
loaded). Sent robustly: a receiver's error (an e-mail that fails) is logged and never
keeps the athlete from being told race control has the call.
"""
