"""Reads for live tracking: a race as the ticker and spectators need it."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from events.access import EDIT_ROLES, has_role_for
from events.models import Event, Race, Registration
from tracking.familylinks import family_link_for
from tracking.live.alerts import Thresholds
from tracking.live.engine import Athlete, Split, default_field_interval
from tracking.live.projection import CourseLine
from tracking.live.window import tracking_window
from tracking.models import FamilyLink, RaceSafety, Withdrawal


def race_info(race: Race) -> dict[str, Any]:
    """The ``race`` object of the spectator's snapshot (PROTOCOL.md §3)."""
    return {
        "id": race.pk,
        "name": f"{race.event.name} {race.name}",
        "start": race.start_time.timestamp(),
        "course_url": reverse("events:course", args=[race.course_id]) if race.course_id else None,
        "distance": race.distance_m or (race.course.distance_m if race.course else None),
    }


def race_thresholds(*, race_id: int) -> tuple[Thresholds, list[str]]:
    """A race's safety settings for race control's alerts, and its safety contacts."""
    safety = RaceSafety.objects.filter(race_id=race_id).first()
    if safety is None:
        off = float(settings.TRACKING_OFF_COURSE_METRES)
        return Thresholds(off_course_m=off), []
    thresholds = Thresholds(
        off_course_m=float(safety.off_course_m),
        stopped_s=60.0 * safety.stopped_minutes,
        lost_s=60.0 * safety.lost_minutes,
    )
    return thresholds, safety.contact_list()


def withdrawn_ids(*, race_id: int) -> set[int]:
    """Athletes race control marked DNF (``tracking.models.Withdrawal``)."""
    return set(Withdrawal.objects.filter(race_id=race_id).values_list("registration_id", flat=True))


def race_for_ticker(*, race_id: int) -> tuple[Race, CourseLine | None, list[Split]]:
    race = Race.objects.select_related("event", "course").get(pk=race_id)
    course = race.course
    if course is None or len(course.line) < 2:
        return race, None, []
    line = CourseLine(course.line, official_distance=race.distance_m or course.distance_m)
    splits = [Split(s.name, s.distance_m) for s in course.split_points.all()]
    return race, line, splits


def roster(*, race_id: int, known: set[int] | None = None) -> list[Athlete]:
    """The race's confirmed athletes (those not in ``known``), as the live engine keeps them."""
    registrations = Registration.objects.filter(
        race_id=race_id, status=Registration.Status.CONFIRMED
    )
    known = known or set()
    if known:
        # Ids first: the roster is refreshed every few seconds and rarely grows.
        new = set(registrations.values_list("pk", flat=True)) - known
        if not new:
            return []
        if len(new) < 500:
            registrations = registrations.filter(pk__in=new)
    rows = (
        registrations.select_related("category")
        .only("pk", "bib", "first_name", "last_name", "category__code")
        .order_by("pk")
    )
    out = [
        Athlete(id=r.pk, bib=r.bib, name=r.name, category=r.category.code if r.category else "")
        for r in rows
        if r.pk not in known
    ]
    if out:
        withdrawn = withdrawn_ids(race_id=race_id)
        for athlete in out:
            athlete.withdrawn = athlete.id in withdrawn
    return out


def live_race_ids(*, now: dt.datetime | None = None) -> list[int]:
    """Races whose tracking window is open now (their tickers should run): published or
    draft alike, since a draft's organizer and family links watch it live (a cancelled
    event's race does not run)."""
    now = now or timezone.now()
    candidates = (
        Race.objects.exclude(event__status=Event.Status.CANCELLED)
        .filter(
            start_time__gte=now - dt.timedelta(days=3),
            start_time__lte=now + dt.timedelta(days=1),
        )
        .only("pk", "start_time", "time_limit")
    )
    stamp = now.timestamp()
    out = []
    for race in candidates:
        opens, closes = tracking_window(start=race.start_time, time_limit=race.time_limit)
        if opens <= stamp <= closes:
            out.append(race.pk)
    return out


def athlete_ids(*, race_id: int) -> set[int]:
    return set(
        Registration.objects.filter(
            race_id=race_id, status=Registration.Status.CONFIRMED
        ).values_list("pk", flat=True)
    )


@dataclass(frozen=True, slots=True)
class Watchable:
    race: Race
    info: dict[str, Any]
    athletes: frozenset[int]
    field_url: str  # the whole field over HTTP, for lean snapshots (``?field=later``)


_watchable: dict[int, tuple[float, Watchable | None]] = {}
WATCHABLE_CACHE_SECONDS = 10.0
# A public race read this long ago still opens spectators' sockets while one re-read runs
# (``claim_reread``): a lone spectator of a race read 10 s ago would otherwise wait for the
# database thread of a process busy with thousands of phones (0.4-1.1 s in bench.pages).
# The price: a race made a draft after its last read still opens the sockets that come
# before the re-read ends (before, those within 10 s of the read); every later one is
# refused, and sockets already open keep theirs either way.
WATCHABLE_STALE_SECONDS = 900.0
_rereading: set[int] = set()


def _watchable_race(race_id: int) -> Watchable | None:
    """The race and its athletes, remembered for a few seconds: a start gun brings
    thousands of spectators at once, and they all watch the same race."""
    now = time.monotonic()
    hit = _watchable.get(race_id)
    if hit is not None and now - hit[0] < WATCHABLE_CACHE_SECONDS:
        return hit[1]
    race = Race.objects.select_related("event", "course").filter(pk=race_id).first()
    found = None
    if race is not None:
        ids = frozenset(athlete_ids(race_id=race.pk))
        # Until the race's first tick, its snapshot tells the count and the default field
        # interval from here; every tick restates them (``tracking.fanout.mirror``).
        interval = default_field_interval(len(ids), settings.TRACKING_FIELD_BYTES_PER_SECOND)
        info = race_info(race) | {"athletes": len(ids), "field_interval": interval}
        page = reverse("tracking:live", args=[race.event.slug, race.slug])
        found = Watchable(race, info, ids, field_url=f"{page}field.json")
    if len(_watchable) > 1000:
        _watchable.clear()
    _watchable[race_id] = (now, found)
    return found


def remember_races(race_ids: set[int]) -> None:
    """Read these races for spectators' sockets, unless read in the last
    ``WATCHABLE_CACHE_SECONDS`` (``tracking.ingest.welcomes``: their phones connected)."""
    for race_id in race_ids:
        _watchable_race(race_id)


def can_watch(*, race: Race, user: Any) -> bool:
    """Published events' races are public; a draft's only for its organizer's members."""
    if race.event.status == Event.Status.PUBLISHED:
        return True
    return user is not None and user.is_authenticated and has_role_for(user, race, EDIT_ROLES)


def public_race_remembered(*, race_id: int) -> Watchable | None:
    """The race, when this process read it less than ``WATCHABLE_STALE_SECONDS`` ago and
    anyone may watch it (a published event's), else None (then ask ``watchable_race``).
    No query: a spectator's socket opens without a hop to the database thread. Past
    ``WATCHABLE_CACHE_SECONDS`` the caller has it read again (``claim_reread``)."""
    hit = _watchable.get(race_id)
    if hit is None or hit[1] is None or time.monotonic() - hit[0] >= WATCHABLE_STALE_SECONDS:
        return None
    found = hit[1]
    return found if found.race.event.status == Event.Status.PUBLISHED else None


def claim_reread(*, race_id: int) -> bool:
    """Whether the caller should read the remembered race again (``reread_watchable``): it
    is older than ``WATCHABLE_CACHE_SECONDS`` and nobody is reading it now."""
    hit = _watchable.get(race_id)
    if hit is None or time.monotonic() - hit[0] < WATCHABLE_CACHE_SECONDS:
        return False
    if race_id in _rereading:
        return False
    _rereading.add(race_id)
    return True


def reread_watchable(*, race_id: int) -> None:
    """Read a remembered race again (claimed by ``claim_reread``): a race made a draft
    or given new athletes is seen by the sockets opened after it."""
    try:
        _watchable_race(race_id)  # stale, so read (the old entry serves meanwhile)
    finally:
        _rereading.discard(race_id)


def watchable_race(*, race_id: int, user: Any, family: str = "") -> Watchable | None:
    """A race this user, or the holder of a working family link of it (``family``, its
    token), may watch (its snapshot info and athlete ids), else None."""
    found = _watchable_race(race_id)
    if found is None:
        return None
    if can_watch(race=found.race, user=user):
        return found
    if family and family_link_for(token=family, race_id=found.race.pk) is not None:
        return found
    return None


def family_watch(
    *, race_id: int, user: Any, family: str, now: dt.datetime | None = None
) -> tuple[bool, FamilyLink | None]:
    """Whether this user may watch race ``race_id`` (read afresh: a socket's re-check must
    see a revoke or a publish at once), and the working family link (``family``, its
    token) through which alone they may, or None when the race is theirs to watch anyway."""
    race = Race.objects.select_related("event").filter(pk=race_id).first()
    if race is None:
        return False, None
    if can_watch(race=race, user=user):
        return True, None
    link = family_link_for(token=family, race_id=race.pk, now=now)
    return link is not None, link


def live_page_race(*, event_slug: str, race_slug: str, user: Any, family: str = "") -> Race | None:
    """The race of a live page, if this user (or ``family``, a family link's token of
    it) may watch it."""
    race = (
        Race.objects.select_related("event", "course")
        .filter(event__slug=event_slug, slug=race_slug)
        .first()
    )
    if race is None:
        return None
    if can_watch(race=race, user=user):
        return race
    if family and family_link_for(token=family, race_id=race.pk) is not None:
        return race
    return None
