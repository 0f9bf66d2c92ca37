"""The athlete's activity page (route coloured by track, a table per track) and the
tracks they run fastest to: shown to that athlete only."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import hypothesis
import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from integrations.models import Activity, Play
from integrations.selectors import PALETTE, SILENCE
from integrations.tests.activity_files import START, gpx_bytes, run_samples
from integrations.uploads import upload_activity

pytestmark = pytest.mark.django_db
MIN = dt.timedelta(minutes=1)


def _play(user: Any, track: str, minute: float, minutes: float, *, artist: str = "Band") -> Play:
    start = START + minute * MIN
    return Play.objects.create(
        user=user,
        source="spotify",
        track=track,
        artist=artist,
        played_at=start + minutes * MIN,
        started_at=start,
        duration_ms=int(minutes * 60_000),
    )


def _run(user: Any, *, start: dt.datetime = START, speed: float = 3.0) -> Activity:
    raw = gpx_bytes(run_samples(start=start, speed=speed))
    return upload_activity(user=user, raw=raw).activity


def _map(response: Any) -> dict[str, Any]:
    html = response.content.decode()
    begin = html.index(">", html.index('id="activity-map-data"')) + 1
    return json.loads(html[begin : html.index("</script>", begin)])


def test_it_colours_the_route_by_track_with_a_legend_and_a_table(
    client, dave, django_assert_max_num_queries
) -> None:
    activity = _run(dave)
    _play(dave, "Warm <Up>", -2, 4, artist="DJ & Co")
    _play(dave, "Tempo", 2, 5)
    client.force_login(dave)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("integrations:activity", args=[activity.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Warm &lt;Up&gt;" in html and "DJ &amp; Co" in html and "<Up>" not in html
    assert html.count('class="swatch"') == 2 * 2 + 1  # legend and table per track, no music
    data = _map(response)
    colours = [s["color"] for s in data["segments"]]
    assert colours == [PALETTE[0], PALETTE[1], SILENCE]  # 0-2 min, 2-7 min, then silence
    points = sum(len(s["points"]) for s in data["segments"]) - len(data["segments"]) + 1
    assert points == 121  # every sample drawn once, lines joined
    assert "Warm" not in json.dumps(data)  # names go to the page as text, not through JS
    assert "1.80 km</strong> · 10:00 moving · 5:34 /km" in html  # 3 m/s


def test_it_says_when_no_music_played(client, dave) -> None:
    activity = _run(dave)
    client.force_login(dave)
    html = client.get(reverse("integrations:activity", args=[activity.pk])).content.decode()
    assert "Connect Spotify or Last.fm" in html
    assert (
        _map(client.get(reverse("integrations:activity", args=[activity.pk])))["segments"][0][
            "color"
        ]
        == SILENCE
    )


def test_it_shows_an_activity_to_its_athlete_only(client, dave, charlie) -> None:
    activity = _run(dave)
    client.force_login(charlie)
    assert client.get(reverse("integrations:activity", args=[activity.pk])).status_code == 404
    assert client.get(reverse("integrations:activity", args=[activity.pk + 999])).status_code == 404
    client.logout()
    assert client.get(reverse("integrations:activity", args=[activity.pk])).status_code == 302
    assert client.get(reverse("integrations:fastest_tracks")).status_code == 302


def test_it_ranks_the_tracks_run_fastest_to_across_activities(
    client, dave, charlie, settings
) -> None:
    settings.MUSIC_FASTEST_MIN_METRES = 500
    _run(dave, speed=3.0)
    later = START + dt.timedelta(days=1)
    _run(dave, start=later, speed=4.0)
    # Last.fm gives no duration: "Fast" lasts until "Short" starts, 4 minutes (~950 m).
    _play(dave, "Steady", 0, 10)
    Play.objects.create(
        user=dave, source="lastfm", track="Fast", artist="Band", played_at=later,
        started_at=later,
    )  # fmt: skip
    Play.objects.create(
        user=dave, source="lastfm", track="Short", artist="Band", played_at=later + 4 * MIN,
        started_at=later + 4 * MIN, duration_ms=10_000,
    )  # fmt: skip
    _play(charlie, "Charlie's", 0, 10)
    client.force_login(dave)
    html = client.get(reverse("integrations:fastest_tracks")).content.decode()
    fast, steady = html.index("Fast"), html.index("Steady")
    assert fast < steady  # 4 m/s before 3 m/s
    assert "4:10 /km" in html and "5:34 /km" in html
    assert "Short" not in html  # 10 seconds: under the minimum distance
    assert "Charlie" not in html


def test_its_times_are_shown_where_it_was_recorded(client, dave) -> None:
    activity = _run(dave)  # 07:30 UTC, an uploaded file: no zone
    client.force_login(dave)
    page = client.get(reverse("integrations:activity", args=[activity.pk])).content.decode()
    assert "Sunday 10 May 2026, 07:30 UTC" in page
    activity.summary = {**activity.summary, "timezone": "(GMT+01:00) Europe/Paris"}
    activity.save()  # as Strava gives it: Paris is at +02:00 in May
    page = client.get(reverse("integrations:activity", args=[activity.pk])).content.decode()
    assert "Sunday 10 May 2026, 09:30 CEST" in page
    listed = client.get(reverse("integrations:activities")).content.decode()
    assert "Sun 10 May 2026, 09:30 CEST" in listed


@given(text=st.text(max_size=60))
@hypothesis.example(text="(GMT-05:00) America")  # a directory of the zone database
@hypothesis.example(text="(GMT+00:00) ../../etc/passwd")
@hypothesis.settings(max_examples=60)
def test_any_timezone_strava_sends_shows_in_a_real_zone_or_utc(text: str) -> None:
    import zoneinfo

    zone = Activity(summary={"timezone": text}).zone
    assert zone == "UTC" or zoneinfo.ZoneInfo(zone) is not None
