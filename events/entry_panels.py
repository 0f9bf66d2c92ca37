"""Blocks that apps above the core add to an entry's page (``/entries/TOKEN/``).

The entry's page is the core's, yet tracking lets an athlete share their race with
their family from it, and the core must not import tracking. So an app registers a
*panel* here when Django loads it (``AppConfig.ready``): given the request and the
entry, it answers the HTML of its block, or "" when it has none for that entry.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest
from django.utils.safestring import SafeString

from events.models import Registration

EntryPanel = Callable[[HttpRequest, Registration], SafeString]

_panels: dict[str, EntryPanel] = {}


def register(name: str, panel: EntryPanel) -> None:
    """Add (or replace, as ``ready()`` may run twice) the panel an app calls ``name``."""
    _panels[name] = panel


def entry_panels(*, request: HttpRequest, registration: Registration) -> list[SafeString]:
    """Every registered app's block for this entry, in the order the apps registered."""
    return [html for panel in _panels.values() if (html := panel(request, registration))]
