"""Fixtures of the music tests: the fake Spotify and Last.fm servers, wired into settings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from integrations.tests.fake_music import FakeLastfm, FakeSpotify, FakeTrack, serve

T0 = dt.datetime(2026, 5, 10, 7, 30, tzinfo=dt.UTC)
TRACKS = [
    FakeTrack(id=f"trk{i}", name=name, artist=artist, album="Run Mix", duration_ms=ms)
    for i, (name, artist, ms) in enumerate(
        [
            ("Lose Yourself", "Eminem", 326_000),
            ("Eye of the Tiger", "Survivor", 245_000),
            ("Run Boy Run", "Woodkid", 213_000),
            ("Till I Collapse", "Eminem", 297_000),
        ]
    )
]


@pytest.fixture
def fakes(settings: Any) -> Iterator[tuple[FakeSpotify, FakeLastfm]]:
    spotify, lastfm = FakeSpotify(), FakeLastfm()
    with serve(spotify=spotify, lastfm=lastfm) as url:
        settings.SPOTIFY_CLIENT_ID = "pace-spotify-client"
        settings.SPOTIFY_CLIENT_SECRET = "pace-spotify-secret"
        settings.SPOTIFY_API_URL = url
        settings.SPOTIFY_ACCOUNTS_URL = url
        settings.LASTFM_API_KEY = lastfm.api_key
        settings.LASTFM_API_URL = f"{url}/2.0/"
        yield spotify, lastfm
