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

alert_raised = Signal()
"""Race control's ticker opened incidents that are e-mailed to the race's safety contacts
(off course: ``tracking.live.alerts.MAILED``), once per incident. Sent with ``race_id``
and ``alerts``: dicts as race control's screens get them (kind, athlete, bib, name,
detail, t, lat, lon). Sent robustly from the ticker: a receiver's error is logged.
"""

athlete_withdrawn = Signal()
"""Race control marked an athlete DNF (``tracking.control.actions.athlete_withdraw``).
Sent once, after the ``Withdrawal`` is stored, with ``race_id``, ``registration_id``,
``by`` (the user) and ``reason``. Results set the athlete's status DNF. Sent robustly.
"""
