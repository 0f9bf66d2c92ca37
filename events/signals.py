"""Signals ``events`` sends to the apps above it, which it must not import."""

from __future__ import annotations

from django.dispatch import Signal

registration_transferred = Signal()
"""An entry passed to another athlete; sent inside the transfer's transaction with
``registration_id``. Whatever let the previous holder act as this entry (a tracking
token, a tracker app's device id) must stop working with it: receivers replace it.
"""
