"""Wall-clock times at the venue: what organizers type and athletes read, stored in UTC.

An organizer types "07:30" meaning 07:30 where the race starts, whatever the
server's zone. Every typed time goes through ``venue_datetime`` with the
event's zone, and every shown time through ``venue_local``, so the two agree
across zones and daylight-saving changes.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib.resources
import zoneinfo
from pathlib import Path
from typing import Any

from django.db import models
from django.db.models.fields.mixins import FieldCacheMixin

UTC = dt.UTC


class NonexistentLocalTimeError(ValueError):
    """A wall-clock time the venue's clocks skip (spring forward)."""


def zone_named(name: str | None) -> zoneinfo.ZoneInfo | None:
    """The time zone of this IANA name, None for anything else (an unknown name, a path,
    a directory of the zone database such as "America")."""
    if not name:
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return None


def _cached_relation(obj: models.Model, name: str) -> Any:
    """The related object ``name`` of ``obj`` if loaded (no query), else ``None``."""
    try:
        field = obj._meta.get_field(name)
    except Exception:
        return None
    cached = field.is_relation and isinstance(field, FieldCacheMixin) and field.is_cached(obj)
    return getattr(obj, name) if cached else None


def venue_zone(obj: Any) -> zoneinfo.ZoneInfo | None:
    """The time zone of the event an object belongs to (an event, a race, an entry...).

    Relations already loaded are preferred, so lists built with ``select_related``
    run no query per row.
    """
    from events.models import Event, Race

    if isinstance(obj, Event):
        return obj.local_tz
    if isinstance(obj, Race):
        return obj.event.local_tz if obj.event_id else None
    for name in ("race", "event"):
        related = _cached_relation(obj, name)
        if related is not None:
            return venue_zone(related)
    for name in ("event", "race"):
        if getattr(obj, f"{name}_id", None) is not None:
            return venue_zone(getattr(obj, name))
    return None


def has_venue(model: type[models.Model]) -> bool:
    """Whether the model's times belong to one event's venue."""
    from events.models import Event

    if model is Event:
        return True
    names = {f.name for f in model._meta.get_fields()}
    return bool(names & {"event", "race"})


def venue_datetime(value: dt.datetime, *, zone: zoneinfo.ZoneInfo) -> tuple[dt.datetime, bool]:
    """The UTC instant of a naive wall-clock time at the venue, and whether it was ambiguous.

    A time the clocks skip raises ``NonexistentLocalTimeError``. A time that happens
    twice (the hour repeated when clocks go back) is taken as its first
    occurrence, still on summer time: the same answer every time.
    """
    first = value.replace(tzinfo=zone, fold=0)
    back = first.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    if back != value.replace(fold=0):
        raise NonexistentLocalTimeError(value)
    second = value.replace(tzinfo=zone, fold=1)
    ambiguous = first.utcoffset() != second.utcoffset()
    return first.astimezone(UTC), ambiguous


def venue_local(value: dt.datetime, *, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """The naive wall-clock time at the venue of an aware instant."""
    return value.astimezone(zone).replace(tzinfo=None)


def venue_date(value: dt.datetime, *, zone: zoneinfo.ZoneInfo) -> dt.date:
    """The calendar day at the venue of an aware instant (not the UTC day)."""
    return value.astimezone(zone).date()


def nonexistent_message(value: dt.datetime, *, zone: zoneinfo.ZoneInfo) -> str:
    later = value.replace(tzinfo=zone, fold=0).astimezone(UTC).astimezone(zone)
    return (
        f"{value:%H:%M} does not exist on {value:%d %b %Y} in {zone.key}: the clocks go "
        f"forward that night and skip it. Type a time outside the gap, such as {later:%H:%M}."
    )


def ambiguous_message(value: dt.datetime, *, zone: zoneinfo.ZoneInfo) -> str:
    first = value.replace(tzinfo=zone, fold=0)
    return (
        f"{value:%H:%M} on {value:%d %b %Y} happens twice in {zone.key} (the clocks go back "
        f"that night): Pace took the first one, {first:%H:%M %Z} "
        f"({first.astimezone(UTC):%H:%M} UTC)."
    )


def _zone_table() -> str:
    try:
        return importlib.resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text()
    except (ModuleNotFoundError, FileNotFoundError):
        for root in zoneinfo.TZPATH:
            path = Path(root) / "zone.tab"
            if path.exists():
                return path.read_text()
    return ""


@functools.cache
def _zones_by_country() -> dict[str, list[str]]:
    zones: dict[str, list[str]] = {}
    for line in _zone_table().splitlines():
        if line and not line.startswith("#"):
            country, _coordinates, name, *_ = line.split("\t")
            zones.setdefault(country, []).append(name)
    return zones


def country_zones(country: str) -> list[str]:
    """The IANA zones of a country (ISO code), as the tz database lists them."""
    return list(_zones_by_country().get(str(country).upper(), []))


def _same_clocks(names: list[str]) -> bool:
    """Whether zones keep the same offsets (Berlin and Busingen) over the next years."""
    year = dt.date.today().year
    probes = [
        dt.datetime(y, m, 15, 12, tzinfo=UTC) for y in (year, year + 1) for m in (1, 4, 7, 10)
    ]
    offsets = {tuple(p.astimezone(zoneinfo.ZoneInfo(n)).utcoffset() for p in probes) for n in names}
    return len(offsets) == 1


def country_default_zone(country: str) -> str | None:
    """The zone of a country whose clocks agree everywhere (its main zone, listed first).

    ``None`` when the country's venues may differ (Spain's Canary Islands, the
    United States): the organizer must say which.
    """
    zones = country_zones(country)
    return zones[0] if zones and _same_clocks(zones) else None


def several_zones_message(country: str) -> str:
    zones = country_zones(country)
    if not zones:
        return "Type the venue's time zone, such as Europe/Paris."
    return f"This country has several time zones ({', '.join(zones)}): type the venue's."


def event_times_keep_clock(*, event: Any, old_zone: zoneinfo.ZoneInfo) -> int:
    """After an event's zone changed, move its typed times so their wall clock stays.

    The organizer typed "07:30" meaning the venue's clock: correcting the zone
    (a new event left on UTC, a venue moved) must not turn it into 08:30. Only
    times organizers type move (starts, price and code deadlines), not records
    of when things happened. Returns how many times moved.
    """
    from events.models import DiscountCode, PriceTier, Race

    new_zone = event.local_tz
    if new_zone.key == old_zone.key:
        return 0
    moved = 0
    typed = [
        (Race.objects.filter(event=event), "start_time"),
        (PriceTier.objects.filter(race__event=event), "until"),
        (DiscountCode.objects.filter(event=event, valid_until__isnull=False), "valid_until"),
    ]
    for queryset, name in typed:
        for obj in queryset.only("pk", name):
            clock = venue_local(getattr(obj, name), zone=old_zone)
            moved_to = clock.replace(tzinfo=new_zone).astimezone(UTC)
            type(obj)._default_manager.filter(pk=obj.pk).update(**{name: moved_to})
            moved += 1
    return moved
