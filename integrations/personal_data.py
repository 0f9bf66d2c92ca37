"""Integrations' part of an athlete's export and erasure, and that of the apps below it
(entries, live tracking, payments), registered in ``pace.lib.personal_data``.

Erasure rules (README "Your data: export and delete"):
- activities, streams, plays and connections: deleted (Strava's access revoked first);
- entries: kept for the organizer's accounts and results, anonymised: name, e-mail,
  birth date (kept as 1 January of its year, the age category stays right), club,
  emergency contact, answers and the manage link go; race, status, category, sex,
  nationality, bib, prices and payment method stay. Payments and refunds point to them
  (PROTECT) and are kept as they are: they hold no personal data beyond the entry;
- live tracking: the entries' GPS positions, posts and trackers are deleted; split
  crossings (timing data the results are made of) stay with the anonymised entry.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Iterator
from typing import Any

import gpxpy.gpx
from django.db import transaction
from django.forms.models import model_to_dict

from events.models import Registration
from integrations.models import Activity, ActivityStream, Connection, Play, Provider
from integrations.streams import samples_of
from pace.lib.personal_data import ExportPart, register
from payments.models import Payment
from tracking.models import Position, Post, Tracker

ANONYMOUS_FIRST, ANONYMOUS_LAST = "Deleted", "athlete"


def _json(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def activity_gpx(activity: Activity, stream: ActivityStream | None) -> bytes:
    gpx = gpxpy.gpx.GPX()
    gpx.creator = "Pace"
    track = gpxpy.gpx.GPXTrack(name=activity.name)
    track.type = activity.sport  # type: ignore[assignment]  # gpxpy types it None
    segment = gpxpy.gpx.GPXTrackSegment()
    for sample in samples_of(activity, stream) if stream else []:
        if sample.lat is not None and sample.lon is not None:
            segment.points.append(
                gpxpy.gpx.GPXTrackPoint(
                    sample.lat, sample.lon, elevation=sample.ele, time=sample.time
                )
            )
    track.segments.append(segment)
    gpx.tracks.append(track)
    return gpx.to_xml().encode()


def _activity_files(user: Any) -> Iterator[tuple[str, bytes]]:
    """Each activity as JSON (its summary and streams) and GPX, read one at a time."""
    activities = Activity.objects.filter(user=user).order_by("start").values_list("pk", flat=True)
    for pk in activities.iterator():
        activity = Activity.objects.select_related("stream").get(pk=pk)
        stream = getattr(activity, "stream", None)
        row = _json(model_to_dict(activity, exclude=["user"])) | {"id": activity.pk}
        if stream is not None:
            row["stream"] = _json(model_to_dict(stream, exclude=["id", "activity"]))
        name = f"activities/{activity.start:%Y-%m-%d}-{activity.pk}"
        yield f"{name}.json", json.dumps(row, ensure_ascii=False).encode()
        yield f"{name}.gpx", activity_gpx(activity, stream)


def export_integrations(user: Any) -> ExportPart:
    part = ExportPart(files=_activity_files(user))
    part.data["activities"] = [
        _json(a) for a in Activity.objects.filter(user=user).order_by("start").values(
            "id", "source", "external_id", "sport", "name", "start", "end", "distance"
        )
    ]  # fmt: skip
    part.data["plays"] = [
        _json(model_to_dict(p, exclude=["id", "user"])) for p in Play.objects.filter(user=user)
    ]
    # Connections without their (sealed) tokens: which accounts are linked, since when.
    part.data["connections"] = [
        _json(
            model_to_dict(c, fields=["provider", "external_id", "display_name", "scopes", "status"])
        )
        | {"created_at": c.created_at.isoformat()}
        for c in Connection.objects.filter(user=user)
    ]
    return part


def erase_integrations(user: Any) -> dict[str, int]:
    from integrations.music import disconnect_music

    counts = {"activities": Activity.objects.filter(user=user).count()}
    counts["plays"] = Play.objects.filter(user=user).count()
    for connection in Connection.objects.filter(user=user):
        if connection.provider == Provider.STRAVA:
            from integrations.strava.connect import disconnect_strava

            disconnect_strava(connection)
        else:
            disconnect_music(connection)
    Activity.objects.filter(user=user).delete()
    Play.objects.filter(user=user).delete()
    return counts


_ENTRY_FIELDS = [
    "race", "event", "status", "email", "first_name", "last_name", "birth_date", "sex",
    "nationality", "club", "emergency_name", "emergency_phone", "tshirt_size", "answers",
    "bib", "price", "currency", "payment_method", "waiver_accepted_at", "checked_in_at",
    "cancelled_at", "created_at",
]  # fmt: skip


def export_entries(user: Any) -> ExportPart:
    entries = []
    registrations = Registration.objects.filter(user=user).select_related("race", "event")
    for entry in registrations.order_by("created_at"):
        row = _json(model_to_dict(entry, fields=_ENTRY_FIELDS))
        row.update(
            id=entry.pk,
            race=str(entry.race),
            event=str(entry.event),
            created_at=entry.created_at.isoformat(),
            payments=[
                _json(
                    model_to_dict(
                        p, fields=["method", "status", "amount", "currency", "refunded_amount"]
                    )
                )
                | {"created_at": p.created_at.isoformat()}
                for p in Payment.objects.filter(registration=entry)
            ],
        )
        entries.append(row)
    return ExportPart(data={"entries": entries})


def export_tracking(user: Any) -> ExportPart:
    mine = Registration.objects.filter(user=user)
    positions: dict[str, list[list[Any]]] = {}
    for p in Position.objects.filter(registration__in=mine).order_by("registration_id", "t"):
        positions.setdefault(str(p.registration_id), []).append(
            [p.t.isoformat(), p.lat, p.lon, p.alt, p.hr, p.cad]
        )
    posts = [
        {
            "entry": p.registration_id,
            "text": p.text,
            "hidden": p.hidden,
            "at": p.created_at.isoformat(),
        }
        for p in Post.objects.filter(registration__in=mine).order_by("created_at")
    ]
    return ExportPart(
        data={
            "live_positions": {
                "columns": ["t", "lat", "lon", "alt", "hr", "cad"],
                "by_entry": positions,
            },
            "live_posts": posts,
        }
    )


def erase_tracking(user: Any) -> dict[str, int]:
    mine = Registration.objects.filter(user=user)
    positions, _ = Position.objects.filter(registration__in=mine).delete()
    posts, _ = Post.objects.filter(registration__in=mine).delete()
    Tracker.objects.filter(registration__in=mine).delete()
    return {"live_positions": positions, "live_posts": posts}


def erase_entries(user: Any) -> dict[str, int]:
    """Anonymise the athlete's entries (kept for the organizer's accounts and results)."""
    count = 0
    with transaction.atomic():
        for entry in Registration.objects.select_for_update().filter(user=user):
            entry.user = None
            entry.first_name, entry.last_name = ANONYMOUS_FIRST, ANONYMOUS_LAST
            entry.email = f"deleted-{entry.pk}@invalid.invalid"
            entry.birth_date = entry.birth_date.replace(month=1, day=1)
            entry.club = entry.emergency_name = entry.emergency_phone = entry.entered_from = ""
            entry.answers = {}
            entry.manage_token = secrets.token_urlsafe(32)
            entry.save()
            count += 1
    return {"entries_anonymised": count}


def register_parts() -> None:
    register("entries", order=90, exporter=export_entries, eraser=erase_entries)
    register("live_tracking", order=50, exporter=export_tracking, eraser=erase_tracking)
    register("integrations", order=40, exporter=export_integrations, eraser=erase_integrations)
