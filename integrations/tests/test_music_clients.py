"""The Spotify and Last.fm clients over HTTP against local fakes of both APIs."""

from __future__ import annotations

import datetime as dt

import pytest

from integrations.lastfm import client as lastfm_client
from integrations.spotify import client as spotify_client
from integrations.tests.fake_music import FakeLastfm, FakeSpotify
from integrations.tests.music_fixtures import T0, TRACKS, fakes

__all__ = ["fakes"]


def _spotify_tokens(spotify: FakeSpotify) -> str:
    return spotify_client.refresh(refresh_token="refresh-1", now=T0).access_token


def test_it_refreshes_spotify_tokens_and_keeps_a_rotated_refresh_token(fakes) -> None:
    spotify, _ = fakes
    tokens = spotify_client.refresh(refresh_token="refresh-1", now=T0)
    assert tokens.access_token == "access-1" and tokens.refresh_token == ""
    assert tokens.expires_at == T0 + dt.timedelta(hours=1)
    spotify.rotate = True
    rotated = spotify_client.refresh(refresh_token="refresh-1", now=T0)
    assert rotated.refresh_token == "refresh-3"


def test_it_says_a_revoked_refresh_token_cannot_be_retried(fakes) -> None:
    with pytest.raises(spotify_client.SpotifyError) as caught:
        spotify_client.refresh(refresh_token="stolen", now=T0)
    assert caught.value.retryable is False and caught.value.status == 400


def test_it_pages_recently_played_with_the_after_cursor(fakes) -> None:
    spotify, _ = fakes
    spotify.plays = [(TRACKS[i % 4], T0 + dt.timedelta(minutes=4 * i)) for i in range(120)]
    token = _spotify_tokens(spotify)
    newest = spotify_client.recently_played(access_token=token, after_ms=None)
    assert [p.played_at for p in newest.plays] == [p[1] for p in spotify.plays[-50:]]
    seen: list[spotify_client.SpotifyPlay] = []
    after: int | None = int(T0.timestamp() * 1000) - 1
    while True:
        page = spotify_client.recently_played(access_token=token, after_ms=after)
        if not page.plays:
            break
        assert len(page.plays) <= 50
        seen += page.plays
        after = page.after_ms
    assert [p.played_at for p in seen] == [T0 + dt.timedelta(minutes=4 * i) for i in range(120)]
    assert seen[1].track == "Eye of the Tiger" and seen[1].artist == "Survivor"
    assert seen[1].duration == dt.timedelta(milliseconds=245_000)
    assert spotify.requests[-1][1].endswith(f"after={after}")


def test_it_tells_retryable_spotify_failures_from_refusals(fakes) -> None:
    spotify, _ = fakes
    token = _spotify_tokens(spotify)
    spotify.fail_next = [429, 503]
    for status in (429, 503):
        with pytest.raises(spotify_client.SpotifyError) as caught:
            spotify_client.recently_played(access_token=token, after_ms=None)
        assert caught.value.retryable and caught.value.status == status
    with pytest.raises(spotify_client.SpotifyError) as refused:
        spotify_client.recently_played(access_token="expired", after_ms=None)
    assert not refused.value.retryable and refused.value.status == 401


def test_it_says_spotify_is_unreachable_as_retryable(settings) -> None:
    settings.SPOTIFY_API_URL = "http://127.0.0.1:9"
    with pytest.raises(spotify_client.SpotifyError) as caught:
        spotify_client.recently_played(access_token="x", after_ms=None)
    assert caught.value.retryable


def _scrobbles(lastfm: FakeLastfm, count: int) -> None:
    lastfm.users["runner"] = [
        (TRACKS[i % 4].name, TRACKS[i % 4].artist, "Run Mix", T0 + dt.timedelta(minutes=4 * i))
        for i in range(count)
    ]


def test_it_reads_lastfm_recent_tracks_by_page_and_skips_now_playing(fakes) -> None:
    _, lastfm = fakes
    _scrobbles(lastfm, 450)
    lastfm.now_playing["runner"] = ("Playing now", "Someone")
    first = lastfm_client.recent_tracks(username="runner", since=T0)
    assert first.total_pages == 3 and len(first.scrobbles) == 200
    assert first.scrobbles[0].started_at == T0 + dt.timedelta(minutes=4 * 449)
    assert all(s.track != "Playing now" for s in first.scrobbles)
    last = lastfm_client.recent_tracks(username="runner", since=T0, page=3)
    assert len(last.scrobbles) == 50 and last.scrobbles[-1].started_at == T0
    assert lastfm.requests[0]["from"] == str(int(T0.timestamp()))
    assert lastfm.requests[0]["method"] == "user.getrecenttracks"


def test_it_reads_a_lone_lastfm_track_sent_as_an_object(fakes) -> None:
    _, lastfm = fakes
    _scrobbles(lastfm, 1)
    page = lastfm_client.recent_tracks(username="runner", since=None)
    assert [(s.track, s.artist, s.album) for s in page.scrobbles] == [
        ("Lose Yourself", "Eminem", "Run Mix")
    ]


def test_it_tells_lastfm_errors_apart(fakes, settings) -> None:
    _, lastfm = fakes
    _scrobbles(lastfm, 3)
    assert lastfm_client.user_exists(username="runner")
    assert not lastfm_client.user_exists(username="nobody")
    lastfm.fail_next = [29]
    with pytest.raises(lastfm_client.LastfmError) as limited:
        lastfm_client.recent_tracks(username="runner", since=None)
    assert limited.value.retryable and limited.value.code == 29
    settings.LASTFM_API_KEY = "wrong"
    with pytest.raises(lastfm_client.LastfmError) as refused:
        lastfm_client.recent_tracks(username="runner", since=None)
    assert not refused.value.retryable and refused.value.code == 10
