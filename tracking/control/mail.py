"""E-mails to a race's safety contacts: an athlete off course (``alert_raised``, from the
ticker, once per incident) or pressing SOS (``sos_raised``, once per call).

Plain text, one e-mail per incident to every contact of the race (``RaceSafety``), with
who, what, when, where (a map link) and the emergency contact of the entry. Handed to
a task (``tracking.tasks.safety_mail_send``) so the ticker never waits on SMTP.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.urls import reverse

from events.localtime import venue_zone
from events.models import Race, Registration
from pace.lib.mail import one_line
from tracking.models import SosCall
from tracking.selectors import race_thresholds

KIND_WORDS = {
    "off_course": "off course",
    "stopped": "stopped",
    "lost_signal": "lost signal",
    "missed_checkpoint": "missed a checkpoint",
}


def _control_url(race: Race) -> str:
    return settings.SITE_URL + reverse("tracking:control", args=[race.event.slug, race.slug])


def _where(lat: Any, lon: Any) -> str:
    if lat is None or lon is None:
        return "Position: unknown"
    return (
        f"Position: {lat:.5f}, {lon:.5f}\n"
        f"Map: https://www.openstreetmap.org/?mlat={lat:.5f}&mlon={lon:.5f}#map=16/{lat:.5f}/{lon:.5f}"
    )


def _when(race: Race, t: float | None) -> str:
    if t is None:
        return "unknown"
    at = dt.datetime.fromtimestamp(t, tz=dt.UTC).astimezone(venue_zone(race.event) or dt.UTC)
    return at.strftime("%H:%M:%S %Z")


def _body(race: Race, entry: Registration | None, lines: list[str]) -> str:
    contact = (
        f"Emergency contact: {entry.emergency_name}, {entry.emergency_phone}"
        if entry is not None
        else "Emergency contact: unknown"
    )
    return "\n".join([*lines, contact, "", f"Race control: {_control_url(race)}", ""])


def _send(race_id: int, subject: str, body: str, contacts: list[str]) -> None:
    from tracking.tasks import safety_mail_send

    safety_mail_send.delay(contacts, one_line(subject), body)


def on_alert_raised(
    sender: Any, *, race_id: int, alerts: list[dict[str, Any]], **kwargs: Any
) -> None:
    _, contacts = race_thresholds(race_id=race_id)
    if not contacts or not alerts:
        return
    race = Race.objects.select_related("event").get(pk=race_id)
    entries = Registration.objects.in_bulk([a["athlete"] for a in alerts])
    for alert in alerts:
        what = KIND_WORDS.get(str(alert["kind"]), str(alert["kind"]))
        who = f"{alert['bib']} {alert['name']}".strip()
        lines = [
            f"{who} is {what}: {alert['detail']}.",
            f"Race: {race.event.name}, {race.name}",
            f"Last fix: {_when(race, alert.get('t'))}",
            _where(alert.get("lat"), alert.get("lon")),
        ]
        subject = f"Race control: {who} {what} ({race.event.name} {race.name})"
        _send(race_id, subject, _body(race, entries.get(alert["athlete"]), lines), contacts)


def on_sos_raised(sender: Any, *, sos: SosCall, **kwargs: Any) -> None:
    _, contacts = race_thresholds(race_id=sos.race_id)
    if not contacts:
        return
    race = Race.objects.select_related("event").get(pk=sos.race_id)
    entry = sos.registration
    who = f"{entry.bib} {entry.name}".strip()
    lines = [
        f"SOS from {who}" + (f": {sos.text}" if sos.text else "."),
        f"Race: {race.event.name}, {race.name}",
        f"Pressed at: {_when(race, sos.t.timestamp())}",
        _where(sos.lat, sos.lon),
    ]
    subject = f"SOS: {who} ({race.event.name} {race.name})"
    _send(sos.race_id, subject, _body(race, entry, lines), contacts)
