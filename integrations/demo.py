"""The demo's part of integrations: a run of the demo athlete, uploaded as a GPX file, with
the tracks that played over it, so its music map shows at once (`make run`)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from django.utils import timezone

from integrations.models import Activity, Play, PlaySource
from integrations.uploads import upload_activity

DEMO_FILE = "pace-demo-tiergarten.gpx"
CENTRE = (52.5145, 13.3501)  # Berlin's Tiergarten
LOOP_RADIUS_M = 800.0
SPEED = 2.95  # m/s, 5:39 a km
SECONDS = 30 * 60
EVERY = 2
PLAYLIST = (
    ("Run Boy Run", "Woodkid", 213),
    ("Lose Yourself", "Eminem", 326),
    ("Dog Days Are Over", "Florence + The Machine", 252),
    ("Eye of the Tiger", "Survivor", 245),
    ("Titanium", "David Guetta, Sia", 245),
    ("Don't Stop Me Now", "Queen", 209),
    ("Born to Run", "Bruce Springsteen", 270),
    ("Till I Collapse", "Eminem", 297),
)


def _gpx(start: dt.datetime) -> bytes:
    points = []
    for i in range(SECONDS // EVERY + 1):
        seconds = i * EVERY
        # Once round an 800 m loop and a bit, faster in the middle than at either end.
        angle = (
            SPEED
            * (seconds + 0.12 * SECONDS / math.pi * (1 - math.cos(math.pi * seconds / SECONDS)))
            / LOOP_RADIUS_M
        )
        lat = CENTRE[0] + LOOP_RADIUS_M * math.sin(angle) / 111_320
        lon = CENTRE[1] + LOOP_RADIUS_M * (1 - math.cos(angle)) / (111_320 * 0.6088)
        when = (start + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")
        hr = round(128 + 34 * min(seconds / 900, 1) + 4 * math.sin(seconds / 97))
        cad = round(84 + 4 * math.sin(math.pi * seconds / SECONDS))
        points.append(
            f'<trkpt lat="{lat:.7f}" lon="{lon:.7f}"><ele>{36 + 4 * math.sin(angle):.1f}</ele>'
            f"<time>{when}</time><extensions><gpxtpx:TrackPointExtension><gpxtpx:hr>{hr}"
            f"</gpxtpx:hr><gpxtpx:cad>{cad}</gpxtpx:cad></gpxtpx:TrackPointExtension>"
            "</extensions></trkpt>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><gpx version="1.1" creator="Pace demo"'
        ' xmlns="http://www.topografix.com/GPX/1/1"'
        ' xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1">'
        "<trk><name>Tiergarten loops</name><type>running</type><trkseg>"
        + "".join(points)
        + "</trkseg></trk></gpx>"
    ).encode()


def demo_seed(*, user: Any) -> int:
    """The athlete's run of three days ago at 07:00 UTC with its music; idempotent (the
    file is stored once, each play once). Returns the activity's id."""
    seeded = Activity.objects.filter(user=user, summary__file=DEMO_FILE).first()
    if seeded is not None:  # an earlier `make run`'s: kept, not one more every day
        return seeded.pk
    day = timezone.now().date() - dt.timedelta(days=3)
    start = dt.datetime.combine(day, dt.time(7), tzinfo=dt.UTC)
    activity = upload_activity(user=user, raw=_gpx(start), filename=DEMO_FILE).activity
    plays, at = [], start - dt.timedelta(seconds=70)
    for track, artist, seconds in PLAYLIST:
        duration = dt.timedelta(seconds=seconds)
        plays.append(
            Play(
                user=user,
                source=PlaySource.SPOTIFY,
                track=track,
                artist=artist,
                album="",
                played_at=at + duration,
                started_at=at,
                duration_ms=seconds * 1000,
                external_id=f"demo-{track}",
            )
        )
        at += duration
    Play.objects.bulk_create(plays, ignore_conflicts=True)
    return activity.pk
