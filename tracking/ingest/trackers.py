"""An athlete's tracker: the token a phone proves itself with and the linked tracker app.

The tracker page calls these; so does the race simulator. A token is the only
credential of ``/ws/track/``, so issuing a new one makes the old one worthless at
once; a device id is what OsmAnd / Traccar Client send, unique across Pace.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from events.models import Event, Registration
from tracking.ingest.athletes import is_plausible_key
from tracking.ingest.deviceids import device_id_problem
from tracking.ingest.devices import devices_forget_on_commit
from tracking.live.groups import race_group
from tracking.live.window import tracking_window
from tracking.models import (
    DEVICE_FIELDS,
    TOKEN_FIELDS,
    Tracker,
    new_device_id,
    new_token,
    secret_digest,
)


class TrackerError(ValueError):
    """Why a tracker change was refused (shown on the form)."""


def tracker_for(registration: Registration) -> Tracker:
    """The registration's tracker, created with a fresh token on first use."""
    try:
        return registration.tracker
    except Tracker.DoesNotExist:
        pass
    try:
        with transaction.atomic():
            return Tracker.objects.create(registration=registration)
    except IntegrityError:  # two tabs opened the page at once: the other one made it
        return Tracker.objects.get(registration=registration)


TAKEN = "This device identifier is already linked to another entry."


def clean_device_id(raw: str) -> str:
    """A device id an athlete typed, if it is hard enough to guess (the rule is
    ``deviceids.device_id_problem``'s, the one the ingest holds ids to)."""
    device_id = (raw or "").strip()
    problem = device_id_problem(device_id)
    if problem:
        raise TrackerError(problem)
    return device_id


def tracker_link_device(*, tracker: Tracker, device_id: str) -> Tracker:
    """Link a device id the athlete typed (empty unlinks); a taken or guessable id is refused."""
    if not (device_id or "").strip():
        previous, tracker.device_id = tracker.device_digest, None
        tracker.save(update_fields=DEVICE_FIELDS)
        devices_forget_on_commit(digests=[previous])
        return tracker
    device_id = clean_device_id(device_id)
    taken = Tracker.objects.filter(device_digest=secret_digest(device_id))
    if taken.exclude(pk=tracker.pk).exists():
        raise TrackerError(TAKEN)
    return _save_device_id(tracker, device_id)


def tracker_issue_device_id(*, tracker: Tracker) -> Tracker:
    """Give the tracker a new device id from Pace (the old one stops working at once)."""
    return _save_device_id(tracker, new_device_id())


def _save_device_id(tracker: Tracker, device_id: str) -> Tracker:
    previous = {field: getattr(tracker, field) for field in DEVICE_FIELDS}
    tracker.device_id = device_id
    try:
        with transaction.atomic():
            tracker.save(update_fields=DEVICE_FIELDS)
    except IntegrityError:  # linked elsewhere between the check and the save
        for field, value in previous.items():
            setattr(tracker, field, value)
        raise TrackerError(TAKEN) from None
    devices_forget_on_commit(digests=[previous["device_digest"], tracker.device_digest])
    return tracker


def tracker_rotate_token(*, tracker: Tracker) -> Tracker:
    """Issue a new token; the old one stops working at once, open connections included."""
    tracker.token = new_token()
    tracker.revoked_at = None
    tracker.save(update_fields=[*TOKEN_FIELDS, "revoked_at"])
    _disconnect([tracker])
    return tracker


def tracker_hand_over(*, registration_id: int) -> Tracker | None:
    """The entry passed to another athlete: the previous holder's token and device id stop
    tracking it (open connections closed); the new holder links their own from the page."""
    tracker = (
        Tracker.objects.select_for_update()
        .select_related("registration")
        .filter(registration_id=registration_id)
        .first()
    )
    if tracker is None:
        return None
    previous = tracker.device_digest
    tracker.token, tracker.device_id = new_token(), new_device_id()
    tracker.save(update_fields=[*TOKEN_FIELDS, *DEVICE_FIELDS])
    _disconnect([tracker])
    devices_forget_on_commit(digests=[previous])
    return tracker


def on_registration_transferred(sender: object, *, registration_id: int, **kwargs: object) -> None:
    """``events.signals.registration_transferred``: connected in ``TrackingConfig.ready``."""
    tracker_hand_over(registration_id=registration_id)


def trackers_revoke(*, trackers: QuerySet[Tracker]) -> int:
    """Revoke tokens (the organizer's admin action): no new fixes with them from now on."""
    revoked = list(trackers.filter(revoked_at__isnull=True).select_related("registration"))
    Tracker.objects.filter(pk__in=[t.pk for t in revoked]).update(revoked_at=timezone.now())
    _disconnect(revoked)
    return len(revoked)


def _disconnect(trackers: list[Tracker]) -> None:
    """After commit, tell every process: trackers connected with an old token are closed,
    and what it remembers of their device ids (a revoked tracker's device stops too)."""
    devices_forget_on_commit(digests=[tracker.device_digest for tracker in trackers])
    by_race: dict[int, list[int]] = {}
    for tracker in trackers:
        by_race.setdefault(tracker.registration.race_id, []).append(tracker.registration_id)

    def send() -> None:
        layer = get_channel_layer()
        for race_id, athletes in by_race.items():
            message = {"type": "race.revoked", "athletes": athletes}
            async_to_sync(layer.group_send)(race_group(race_id), message)

    transaction.on_commit(send)


@dataclass(frozen=True, slots=True)
class TrackedEntry:
    """A registration on the tracker page, with its tracker and its tracking window."""

    registration: Registration
    tracker: Tracker
    opens: dt.datetime
    closes: dt.datetime

    @property
    def is_open(self) -> bool:
        return self.opens <= timezone.now() <= self.closes


def _window(registration: Registration) -> tuple[dt.datetime, dt.datetime]:
    race = registration.race
    opens, closes = tracking_window(start=race.start_time, time_limit=race.time_limit)
    return dt.datetime.fromtimestamp(opens, tz=dt.UTC), dt.datetime.fromtimestamp(closes, tz=dt.UTC)


def _entry(registration: Registration) -> TrackedEntry:
    opens, closes = _window(registration)
    return TrackedEntry(registration, tracker_for(registration), opens, closes)


def trackable_entries(*, user: User) -> list[TrackedEntry]:
    """A user's confirmed entries in published races whose tracking is open or still to come."""
    registrations = (
        Registration.objects.filter(
            user=user,
            status=Registration.Status.CONFIRMED,
            race__event__status=Event.Status.PUBLISHED,
            race__start_time__gte=timezone.now() - dt.timedelta(days=3),
        )
        .select_related("race__event", "tracker")
        .order_by("race__start_time", "pk")
    )
    now = timezone.now()
    return [_entry(r) for r in registrations if _window(r)[1] >= now]


def entry_for_token(*, token: str) -> TrackedEntry | None:
    """The entry a (valid, unrevoked) tracking token belongs to: the token is the credential."""
    if not is_plausible_key(token, max_length=64):
        return None
    tracker = (
        Tracker.objects.filter(
            token_digest=secret_digest(token),
            revoked_at__isnull=True,
            registration__status=Registration.Status.CONFIRMED,
        )
        .select_related("registration__race__event")
        .first()
    )
    return _entry(tracker.registration) if tracker else None
