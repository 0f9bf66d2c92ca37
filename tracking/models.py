"""Live tracking data: trackers (how a phone proves who it is), stored fixes, posts, kudos.

A registration's id is the athlete's id in every frame of PROTOCOL.md.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, validate_email
from django.db import models

from events.models import Race, Registration
from pace.lib import sealing

# The longest device id a tracker holds: the column's width, which the one rule of
# device ids (``tracking.ingest.deviceids``) and ``/osmand/`` hold requests to.
DEVICE_ID_MAX = 100


def new_token() -> str:
    return secrets.token_urlsafe(24)


def new_device_id() -> str:
    """A device id Pace issues for OsmAnd / Traccar Client: 96 random bits, URL-safe.

    ``/osmand/`` takes a fix from whoever names a linked id, so an id must not be
    guessable (the old ``sim-RACE-REG`` and ``lt-RACE-BIB`` were).
    """
    return secrets.token_urlsafe(12)


def secret_digest(value: str) -> str:
    """What a tracking token or device id is looked up by: its SHA-256 (both are random or
    held to ``deviceids``' rule, so no slow hash is needed; family links do the same)."""
    return hashlib.sha256(value.encode("utf-8", errors="replace")).hexdigest()


HINT_CHARS = 4  # the first characters kept in clear, to tell trackers apart in the admin
TOKEN_PURPOSE = "tracking:token"
DEVICE_PURPOSE = "tracking:device"
# The columns a change of token or of device id writes (``save(update_fields=...)``).
TOKEN_FIELDS = ["token_digest", "token_sealed", "token_hint"]
DEVICE_FIELDS = ["device_digest", "device_sealed", "device_hint"]


def token_columns(token: str) -> dict[str, str]:
    """The stored form of a tracking token: digest, sealed copy, hint (never the token)."""
    return {
        "token_digest": secret_digest(token),
        "token_sealed": sealing.encrypt(token, purpose=TOKEN_PURPOSE),
        "token_hint": token[:HINT_CHARS],
    }


def device_columns(device_id: str | None) -> dict[str, str | None]:
    """The stored form of a device id (all empty when none is linked)."""
    if not device_id:
        return {"device_digest": None, "device_sealed": "", "device_hint": ""}
    return {
        "device_digest": secret_digest(device_id),
        "device_sealed": sealing.encrypt(device_id, purpose=DEVICE_PURPOSE),
        "device_hint": device_id[:HINT_CHARS],
    }


class Tracker(models.Model):
    """A registration's revocable tracking token and the tracker app device linked to it.

    Both are bearer credentials (PROTOCOL.md §1, ``/osmand/``), so neither is stored in
    clear: each is looked up by its digest (``secret_digest``) and kept sealed
    (``pace.lib.sealing``, AES-256-GCM, re-sealed by ``rotate_token_key``) only because the
    athlete's tracker page shows them again. ``token`` and ``device_id`` read and write
    them; a query names ``token_digest`` / ``device_digest``.
    """

    ORGANIZER_PATH = "registration__race__event__organizer"

    registration = models.OneToOneField(
        Registration, on_delete=models.CASCADE, related_name="tracker"
    )
    token_digest = models.CharField(max_length=64, unique=True, editable=False)
    token_sealed = models.TextField(editable=False)
    token_hint = models.CharField(max_length=HINT_CHARS, editable=False)
    device_digest = models.CharField(
        max_length=64, unique=True, null=True, blank=True, editable=False
    )
    device_sealed = models.TextField(blank=True, editable=False)
    device_hint = models.CharField(max_length=HINT_CHARS, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)
    kudos = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if args:  # a row read from the database (``from_db`` passes values by position)
            return
        # A new tracker gets a token and a device id from Pace unless given them.
        if "token" not in kwargs and not self.token_digest:
            self.token = new_token()
        if "device_id" not in kwargs and "device_digest" not in kwargs:
            self.device_id = new_device_id()

    def __str__(self) -> str:
        return f"Tracker of {self.registration}"

    @property
    def token(self) -> str:
        return sealing.decrypt(self.token_sealed, purpose=TOKEN_PURPOSE)

    @token.setter
    def token(self, value: str) -> None:
        for field, stored in token_columns(value).items():
            setattr(self, field, stored)

    @property
    def device_id(self) -> str | None:
        """The identifier typed into OsmAnd or Traccar Client (issued by Pace, or one the
        athlete typed: see tracking.trackers.clean_device_id); None when none is linked."""
        if not self.device_sealed:
            return None
        return sealing.decrypt(self.device_sealed, purpose=DEVICE_PURPOSE)

    @device_id.setter
    def device_id(self, value: str | None) -> None:
        for field, stored in device_columns(value).items():
            setattr(self, field, stored)

    def reseal(self) -> bool:
        """Seal both copies with the current key (``rotate_token_key``); True if changed."""
        token = sealing.reencrypt(self.token_sealed, purpose=TOKEN_PURPOSE)
        device = (
            sealing.reencrypt(self.device_sealed, purpose=DEVICE_PURPOSE)
            if self.device_sealed
            else ""
        )
        changed = (token, device) != (self.token_sealed, self.device_sealed)
        self.token_sealed, self.device_sealed = token, device
        return changed


class Position(models.Model):
    """One GPS fix as received. Stored in bulk by the ingest's group commit, never one by one.

    ``(registration, seq, t)`` is unique so that a resent batch (or a retried OsmAnd
    request, seq 0) stores nothing twice. On PostgreSQL a BRIN index on ``(race, t)``
    keeps the time-ordered table cheap to append to and to read per race.

    ``seq`` counts per device (PROTOCOL.md §1), so each fix keeps a key of the device
    that sent it (``ingest.athletes.device_key`` of the ``hello``'s ``device``; 0 when none is
    named): a second phone of the same athlete is told its own ``last_seq``. The key
    is not part of the uniqueness: a phone whose name changed (an app update) resends
    what it holds, and that is still stored once.
    """

    ORGANIZER_PATH = "race__event__organizer"

    id = models.BigAutoField(primary_key=True)
    race = models.ForeignKey(Race, on_delete=models.CASCADE, related_name="+", db_index=False)
    registration = models.ForeignKey(
        Registration, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    seq = models.BigIntegerField(default=0)
    device_key = models.BigIntegerField(default=0, db_default=0)
    t = models.DateTimeField()
    lat = models.FloatField()
    lon = models.FloatField()
    alt = models.FloatField(null=True, blank=True)
    acc = models.FloatField(null=True, blank=True)
    spd = models.FloatField(null=True, blank=True)
    hr = models.FloatField(null=True, blank=True)
    cad = models.FloatField(null=True, blank=True)
    bat = models.FloatField(null=True, blank=True)
    received_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["registration", "seq", "t"], name="position_once")
        ]

    def __str__(self) -> str:
        return f"{self.registration_id} at {self.t:%H:%M:%S}: {self.lat:.5f}, {self.lon:.5f}"


class Post(models.Model):
    """A mid-race message from an athlete, shown to spectators unless an organizer hides it."""

    ORGANIZER_PATH = "race__event__organizer"

    race = models.ForeignKey(Race, on_delete=models.CASCADE, related_name="+")
    registration = models.ForeignKey(Registration, on_delete=models.CASCADE, related_name="posts")
    text = models.CharField(max_length=280)
    hidden = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["race", "created_at"])]

    def __str__(self) -> str:
        return self.text[:60]


class Kudos(models.Model):
    """A spectator's cheer for an athlete (the running total is on the tracker)."""

    ORGANIZER_PATH = "registration__race__event__organizer"

    registration = models.ForeignKey(Registration, on_delete=models.CASCADE, related_name="kudos")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    from_name = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "kudos"

    def __str__(self) -> str:
        return f"Kudos from {self.from_name}"


class SplitCrossing(models.Model):
    """An athlete passing a split point, seen by GPS (the ticker), for results."""

    ORGANIZER_PATH = "race__event__organizer"

    race = models.ForeignKey(Race, on_delete=models.CASCADE, related_name="+")
    registration = models.ForeignKey(
        Registration, on_delete=models.CASCADE, related_name="split_crossings"
    )
    point = models.CharField(max_length=100)
    distance_m = models.FloatField()
    time = models.DateTimeField()
    rank = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["time"]
        constraints = [
            models.UniqueConstraint(fields=["registration", "point"], name="crossing_once")
        ]

    def __str__(self) -> str:
        return f"{self.registration_id} at {self.point}"


class SosCall(models.Model):
    """An athlete's emergency call from the tracker (PROTOCOL.md §1 ``sos``): race control
    sees it at once (``tracking.ingest.sos.raise_sos``); spectators never do."""

    ORGANIZER_PATH = "race__event__organizer"

    race = models.ForeignKey(Race, on_delete=models.CASCADE, related_name="+")
    registration = models.ForeignKey(
        Registration, on_delete=models.CASCADE, related_name="sos_calls"
    )
    text = models.CharField(max_length=280, blank=True)
    lat = models.FloatField(null=True, blank=True)
    lon = models.FloatField(null=True, blank=True)
    t = models.DateTimeField(help_text="When the athlete pressed SOS (as the server got it).")
    # The phone's own id of the call (``sos`` frame's ``client_id``): a call resent after
    # a reconnect (the phone retries until ``sos_received``) is this call, not another.
    client_id = models.CharField(max_length=64, blank=True, default="")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-t"]
        verbose_name = "SOS call"
        indexes = [models.Index(fields=["race", "t"])]
        constraints = [
            models.UniqueConstraint(
                fields=["registration", "client_id"],
                condition=~models.Q(client_id=""),
                name="sos_call_once_per_client_id",
            )
        ]

    def __str__(self) -> str:
        return f"SOS from {self.registration_id} at {self.t:%H:%M:%S}"


class RaceMessage(models.Model):
    """A message from race control to one athlete's tracker or to every athlete of a race
    (``registration`` empty): sent live, kept so a tracker that reconnects gets what it
    missed (``tracking.ingest.race_messages``)."""

    ORGANIZER_PATH = "race__event__organizer"

    race = models.ForeignKey(Race, on_delete=models.CASCADE, related_name="+")
    registration = models.ForeignKey(
        Registration,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="race_messages",
        help_text="Empty: to every athlete of the race.",
    )
    sender = models.CharField(max_length=100, help_text="Shown as who the message is from.")
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    text = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["race", "id"])]

    def __str__(self) -> str:
        return self.text[:60]


class FamilyLink(models.Model):
    """A no-login link an athlete gives their family: the race's live page focused on them,
    even for a race that is not public, until it expires or is revoked.

    The token is shown once, when made, and stored only as its SHA-256
    (``tracking.familylinks``), as timing tokens are.
    """

    ORGANIZER_PATH = "registration__race__event__organizer"

    registration = models.ForeignKey(
        Registration, on_delete=models.CASCADE, related_name="family_links"
    )
    digest = models.CharField(max_length=64, unique=True, editable=False)
    # The token's first characters, to tell links apart in lists; the rest is never kept.
    hint = models.CharField(max_length=12, editable=False)
    label = models.CharField(max_length=60, blank=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Family link {self.hint}… of {self.registration_id}"


class RaceSafety(models.Model):
    """A race's safety settings for race control (``/control/EVENT/RACE/``): when an
    athlete is off course, stopped too long or lost, and whom to e-mail about it."""

    ORGANIZER_PATH = "race__event__organizer"

    race = models.OneToOneField(Race, on_delete=models.CASCADE, related_name="safety")
    off_course_m = models.PositiveIntegerField(
        "off course after (metres)",
        default=150,
        validators=[MinValueValidator(1)],
        help_text="Further than this from the course is off course (race control and spectators).",
    )
    stopped_minutes = models.PositiveIntegerField(
        "stopped too long after (minutes)", default=10, validators=[MinValueValidator(1)]
    )
    lost_minutes = models.PositiveIntegerField(
        "lost signal after (minutes)", default=5, validators=[MinValueValidator(1)]
    )
    contacts = models.TextField(
        "safety contacts",
        blank=True,
        help_text="E-mail addresses, one a line: they get an e-mail when an athlete goes off "
        "course or presses SOS (once per incident).",
    )

    class Meta:
        verbose_name = "safety settings"
        verbose_name_plural = "safety settings"

    def __str__(self) -> str:
        return f"Safety settings of {self.race}"

    def clean(self) -> None:
        bad = [a for a in self.contact_list() if not _is_email(a)]
        if bad:
            raise ValidationError({"contacts": f"Not an e-mail address: {bad[0][:80]}"})

    def contact_list(self) -> list[str]:
        lines = self.contacts.replace(",", "\n").replace(";", "\n").splitlines()
        return [line.strip() for line in lines if line.strip()]


def _is_email(text: str) -> bool:
    try:
        validate_email(text)
    except ValidationError:
        return False
    return True


class Withdrawal(models.Model):
    """Race control marked an athlete DNF during the race: who and when (the audit), and
    why. Spectators see ``dnf`` from the next roster refresh; results set DNF at once."""

    ORGANIZER_PATH = "race__event__organizer"

    race = models.ForeignKey(Race, on_delete=models.CASCADE, related_name="+")
    registration = models.OneToOneField(
        Registration, on_delete=models.CASCADE, related_name="withdrawal"
    )
    reason = models.CharField(max_length=200, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"DNF of {self.registration_id}"


class RaceControl(Race):
    """A race as race control's admin sees it: a link to its live page and its safety
    settings (admin only)."""

    class Meta:
        proxy = True
        verbose_name = "race control"
        verbose_name_plural = "race control"
