"""Spotify and Last.fm polled into stored plays, through the real clients and tasks
against the local fake APIs; connecting Last.fm by username; disconnecting."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from celery import current_app
from django.conf import settings as django_settings
from django.urls import reverse

from integrations import music, tasks
from integrations.models import Connection, ConnectionStatus, Play, Provider
from integrations.tests.music_fixtures import T0, TRACKS, fakes
from integrations.tokens import TokenSet
from pace.lib.testing import FakeClock

__all__ = ["fakes"]
pytestmark = pytest.mark.django_db


def _spotify(user: Any, *, expires_at: dt.datetime) -> Connection:
    return music.spotify_connected(
        user=user,
        spotify_user_id="sp-dave",
        display_name="Dave",
        tokens=TokenSet("access-0", "refresh-1", expires_at),
        scopes="user-read-recently-played",
    )


def test_it_polls_spotify_after_its_cursor_and_stores_each_play_once(
    fakes, dave, django_capture_on_commit_callbacks
) -> None:
    spotify, _ = fakes
    spotify.plays = [(TRACKS[i % 4], T0 + dt.timedelta(minutes=5 * i)) for i in range(70)]
    spotify.access_tokens.add("access-0")
    with django_capture_on_commit_callbacks(execute=True):
        connection = _spotify(dave, expires_at=T0 + dt.timedelta(days=3650))
    # The connect's first poll saw the newest 50 (all Spotify gives without a cursor).
    assert Play.objects.filter(user=dave).count() == 50
    spotify.plays += [(TRACKS[0], T0 + dt.timedelta(minutes=5 * i)) for i in range(70, 130)]
    assert music.poll_connection(connection) == 60  # 50 then 10, after the newest stored
    assert music.poll_connection(connection) == 0
    plays = list(Play.objects.filter(user=dave).order_by("played_at"))
    assert len(plays) == 110 and len({p.played_at for p in plays}) == 110
    first = plays[0]
    assert first.source == "spotify" and first.duration_ms == TRACKS[20 % 4].duration_ms
    assert first.started_at == first.played_at - dt.timedelta(milliseconds=first.duration_ms)
    cursors = [path for method, path in spotify.requests if "after=" in path]
    assert cursors and cursors[0].endswith(str(int(plays[49].played_at.timestamp() * 1000)))


def test_it_refreshes_an_expired_spotify_token_before_polling(fakes, dave) -> None:
    spotify, _ = fakes
    spotify.plays = [(TRACKS[1], T0)]
    clock = FakeClock(start=T0.timestamp())
    connection = _spotify(dave, expires_at=T0 - dt.timedelta(minutes=1))
    assert music.poll_connection(connection, clock=clock) == 1
    connection.refresh_from_db()
    assert connection.access_token() == "access-1"
    assert connection.expires_at is not None
    assert connection.expires_at > dt.datetime.now(dt.UTC)
    assert ("POST", "/api/token") in spotify.requests


def test_it_marks_a_spotify_connection_broken_when_its_refresh_token_is_revoked(
    fakes, dave
) -> None:
    spotify, _ = fakes
    spotify.refresh_tokens = set()
    connection = _spotify(dave, expires_at=T0 - dt.timedelta(minutes=1))
    clock = FakeClock(start=T0.timestamp())
    assert music.poll_safely(connection.pk, clock=clock) == 0
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.BROKEN
    assert "Spotify refused" in connection.broken_reason
    assert music.connections_to_poll() == []


def test_it_polls_lastfm_from_its_newest_scrobble(fakes, dave) -> None:
    _, lastfm = fakes
    now = dt.datetime.now(dt.UTC)
    lastfm.users["dave_runs"] = [
        (t.name, t.artist, t.album, now - dt.timedelta(days=40) + dt.timedelta(minutes=4 * i))
        for i, t in enumerate(TRACKS)
    ] + [
        (TRACKS[i % 4].name, TRACKS[i % 4].artist, "Run Mix", now - dt.timedelta(minutes=4 * i))
        for i in range(1, 260)
    ]
    connection = Connection.objects.create(
        user=dave, provider=Provider.LASTFM, external_id="dave_runs"
    )
    assert music.poll_connection(connection) == 259  # the last 30 days, over two pages
    lastfm.users["dave_runs"].append(("Fresh", "New", "", now + dt.timedelta(seconds=30)))
    assert music.poll_connection(connection) == 0  # a scrobble from the future waits
    assert lastfm.requests[-1]["from"] == str(int((now - dt.timedelta(minutes=4)).timestamp()) + 1)
    clock = FakeClock(start=(now + dt.timedelta(minutes=1)).timestamp())
    assert music.poll_connection(connection, clock=clock) == 1
    play = Play.objects.get(user=dave, track="Fresh")
    assert play.duration_ms is None and play.started_at == play.played_at


def test_it_takes_the_oldest_pages_first_when_a_poll_cannot_take_them_all(
    fakes, dave, monkeypatch
) -> None:
    _, lastfm = fakes
    monkeypatch.setattr(music, "MAX_PAGES", 2)
    now = dt.datetime.now(dt.UTC)
    lastfm.users["dave_runs"] = [
        (f"Track {i}", "Band", "", now - dt.timedelta(minutes=3 * (1000 - i))) for i in range(1000)
    ]  # 1000 scrobbles over the last 50 hours: 5 pages of 200
    connection = Connection.objects.create(
        user=dave, provider=Provider.LASTFM, external_id="dave_runs"
    )
    assert music.poll_connection(connection) == 400  # pages 5 and 4: the oldest
    stored = set(Play.objects.filter(user=dave).values_list("track", flat=True))
    assert stored == {f"Track {i}" for i in range(400)}
    assert music.poll_connection(connection) == 400
    assert music.poll_connection(connection) == 200
    assert Play.objects.filter(user=dave).count() == 1000  # no gap
    assert {r["to"] for r in lastfm.requests[:3]} == {lastfm.requests[0]["to"]}  # one window


def test_it_runs_the_poll_every_30_minutes_from_the_beat(fakes, dave) -> None:
    _, lastfm = fakes
    lastfm.users["dave_runs"] = [("One", "A", "", dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))]
    Connection.objects.create(user=dave, provider=Provider.LASTFM, external_id="dave_runs")
    entry = django_settings.CELERY_BEAT_SCHEDULE["poll-music"]
    assert entry["schedule"] == 30 * 60 and entry["task"] == tasks.poll_music.name
    current_app.tasks[entry["task"]].apply()  # as the beat (or the embedded one) runs it
    assert Play.objects.filter(user=dave).count() == 1


def test_it_connects_lastfm_by_username_from_the_connections_page(client, fakes, dave) -> None:
    _, lastfm = fakes
    lastfm.users["dave_runs"] = []
    client.force_login(dave)
    page = client.get(reverse("integrations:connections"))
    assert b"Last.fm username" in page.content
    unknown = client.post(reverse("integrations:lastfm_connect"), {"username": "nobody"})
    assert unknown.status_code == 400 and b"Last.fm knows no user of that name" in unknown.content
    bad = client.post(reverse("integrations:lastfm_connect"), {"username": "<script>"})
    assert bad.status_code == 400 and b"letters, digits" in bad.content
    ok = client.post(reverse("integrations:lastfm_connect"), {"username": "dave_runs"}, follow=True)
    assert b"Reading the scrobbles of <strong>dave_runs</strong>" in ok.content
    assert Connection.objects.get(user=dave, provider="lastfm").external_id == "dave_runs"


def test_it_deletes_the_plays_of_a_disconnected_source_only(client, dave) -> None:
    for source in ("spotify", "lastfm"):
        Connection.objects.create(user=dave, provider=source, external_id=f"{source}-dave")
        Play.objects.create(user=dave, source=source, track="T", played_at=T0, started_at=T0)
    client.force_login(dave)
    client.post(reverse("integrations:disconnect", args=["lastfm"]))
    assert list(Play.objects.filter(user=dave).values_list("source", flat=True)) == ["spotify"]
    assert list(Connection.objects.filter(user=dave).values_list("provider", flat=True)) == [
        "spotify"
    ]


def test_it_connects_spotify_through_allauth_with_pkce_and_keeps_only_sealed_tokens(
    fakes, dave, client, settings, django_capture_on_commit_callbacks
) -> None:
    from urllib.parse import parse_qs, urlparse

    import requests
    from allauth.socialaccount.models import SocialAccount, SocialToken

    spotify, _ = fakes
    spotify.plays = [(TRACKS[2], dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10))]
    settings.SPOTIFY_ENABLED = True
    settings.SOCIALACCOUNT_PROVIDERS = {
        **settings.SOCIALACCOUNT_PROVIDERS,
        "spotify": {
            "SCOPE": ["user-read-recently-played"],
            "OAUTH_PKCE_ENABLED": True,
            "APPS": [{"client_id": "pace-spotify-client", "secret": "pace-spotify-secret"}],
        },
    }
    client.force_login(dave)
    page = client.get(reverse("integrations:connections"))
    assert b'data-testid="spotify-connect"' in page.content
    start = client.post("/accounts/spotify/login/?process=connect")
    assert start.status_code == 302
    query = parse_qs(urlparse(start["Location"]).query)
    assert query["scope"] == ["user-read-recently-played"]
    assert query["code_challenge_method"] == ["S256"]
    back = requests.get(start["Location"], allow_redirects=False, timeout=5).headers["Location"]
    with django_capture_on_commit_callbacks(execute=True):
        done = client.get(urlparse(back).path + "?" + urlparse(back).query)
    assert done.status_code == 302 and done["Location"] == "/integrations/"
    connection = Connection.objects.get(user=dave, provider=Provider.SPOTIFY)
    assert connection.external_id == "sp-dave"
    assert connection.display_name == "Dave on Spotify"
    assert connection.access_token() == "access-1" and connection.refresh_token() == "refresh-1"
    assert "access-1" not in connection.access_token_sealed
    assert SocialAccount.objects.filter(user=dave, provider="spotify").exists()
    assert not SocialToken.objects.exists()
    assert Play.objects.get(user=dave).track == TRACKS[2].name  # polled at once


def test_spotify_s_urls_are_not_there_without_its_keys(client, dave) -> None:
    client.force_login(dave)
    assert client.post("/accounts/spotify/login/?process=connect").status_code == 404
    page = client.get(reverse("integrations:connections"))
    assert b"Spotify is not set up on this Pace" in page.content
