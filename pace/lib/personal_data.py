"""What Pace holds about a person, gathered and erased app by app (GDPR articles 15 to 20).

Each app registers, from its ``AppConfig.ready()``, an exporter (the user's data of that
app as JSON-ready values, and files to put in the archive) and an eraser (deletes or
anonymises it, by the app's own rules). The account's export and deletion call them
all, lowest app first, without importing any app: so an app above another (results
over integrations) adds its part without the lower one knowing it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ExportPart:
    """One app's share of an export: JSON data and files, ``(archive path, bytes)`` pairs
    that may be a generator: an athlete's thousands of activities go into the archive one
    by one, never all in memory at once."""

    data: dict[str, Any] = field(default_factory=dict)
    files: Iterable[tuple[str, bytes]] = ()


Exporter = Callable[[Any], ExportPart]
Eraser = Callable[[Any], dict[str, int]]


@dataclass(frozen=True)
class Registered:
    name: str
    order: int
    exporter: Exporter | None
    eraser: Eraser | None


_registry: dict[str, Registered] = {}


def register(
    name: str, *, order: int, exporter: Exporter | None = None, eraser: Eraser | None = None
) -> None:
    """Add (or replace) an app's part. ``order``: lower runs first (erasers of data that
    others point to run last)."""
    _registry[name] = Registered(name=name, order=order, exporter=exporter, eraser=eraser)


def parts() -> list[Registered]:
    return sorted(_registry.values(), key=lambda r: (r.order, r.name))
