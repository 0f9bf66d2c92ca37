"""Local fake Spotify and Last.fm servers that answer as the real APIs do, so the real
clients run over HTTP in the tests (threading ``http.server`` on 127.0.0.1)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit


@dataclass
class FakeTrack:
    id: str
    name: str
    artist: str
    album: str
    duration_ms: int


@dataclass
class FakeSpotify:
    """Spotify's accounts service and Web API for one user: tokens, recently played."""

    plays: list[tuple[FakeTrack, dt.datetime]] = field(default_factory=list)  # (track, played_at)
    refresh_tokens: set[str] = field(default_factory=lambda: {"refresh-1"})
    access_tokens: set[str] = field(default_factory=set)
    rotate: bool = False
    fail_next: list[int] = field(default_factory=list)  # statuses to answer next, in order
    requests: list[tuple[str, str]] = field(default_factory=list)
    issued: int = 0
    user_id: str = "sp-dave"
    challenges: dict[str, str] = field(default_factory=dict)  # code -> PKCE code_challenge

    def authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str]]:
        """The athlete says yes at once: back to Pace with a code bound to the challenge."""
        if query.get("code_challenge_method") != "S256" or "code_challenge" not in query:
            return 400, {}
        code = f"code-{len(self.challenges) + 1}"
        self.challenges[code] = query["code_challenge"]
        location = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
        return 302, {"Location": location}

    def _exchange(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        challenge = self.challenges.pop(form.get("code", ""), None)
        verifier = form.get("code_verifier", "").encode()
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=")
        if challenge is None or digest.decode() != challenge:
            return 400, {"error": "invalid_grant", "error_description": "Invalid code verifier"}
        self.refresh_tokens.add("refresh-1")
        status, body = self.token(
            {**form, "grant_type": "refresh_token", "refresh_token": "refresh-1"}
        )
        return status, {"refresh_token": "refresh-1", **body}  # a first grant always has one

    def me(self, query: dict[str, str], auth: str) -> tuple[int, dict[str, Any]]:
        token = query.get("access_token") or auth.removeprefix("Bearer ")
        if token not in self.access_tokens:
            return 401, {"error": {"status": 401, "message": "Invalid access token"}}
        return 200, {"id": self.user_id, "display_name": "Dave on Spotify", "type": "user"}

    def token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if form.get("grant_type") == "authorization_code" and form.get("client_id"):
            return self._exchange(form)
        if form.get("grant_type") != "refresh_token" or not form.get("client_id"):
            return 400, {"error": "invalid_request"}
        if form.get("refresh_token") not in self.refresh_tokens:
            return 400, {"error": "invalid_grant", "error_description": "Refresh token revoked"}
        self.issued += 1
        access = f"access-{self.issued}"
        self.access_tokens.add(access)
        body: dict[str, Any] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": 3600,
            "scope": "user-read-recently-played",
        }
        if self.rotate:
            new = f"refresh-{self.issued + 1}"
            self.refresh_tokens = {new}
            body["refresh_token"] = new
        return 200, body

    def recently_played(self, query: dict[str, str], auth: str) -> tuple[int, dict[str, Any]]:
        if auth.removeprefix("Bearer ") not in self.access_tokens:
            return 401, {"error": {"status": 401, "message": "The access token expired"}}
        limit = min(int(query.get("limit", 20)), 50)
        ordered = sorted(self.plays, key=lambda p: p[1])
        if "after" in query:
            after = dt.datetime.fromtimestamp(int(query["after"]) / 1000, tz=dt.UTC)
            chosen = [p for p in ordered if p[1] > after][:limit]  # the oldest after the cursor
        else:
            chosen = ordered[-limit:]
        items = [
            {
                "track": {
                    "id": t.id,
                    "name": t.name,
                    "duration_ms": t.duration_ms,
                    "artists": [{"name": t.artist}],
                    "album": {"name": t.album},
                    "type": "track",
                },
                "played_at": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "context": None,
            }
            for t, when in reversed(chosen)  # Spotify lists the newest first
        ]
        cursors = (
            {
                "after": str(int(chosen[-1][1].timestamp() * 1000)),
                "before": str(int(chosen[0][1].timestamp() * 1000)),
            }
            if chosen
            else None
        )
        return 200, {"items": items, "limit": limit, "cursors": cursors, "next": None}


@dataclass
class FakeLastfm:
    """Last.fm's API: ``user.getrecenttracks`` and ``user.getinfo`` with an API key."""

    api_key: str = "lastfm-key"
    users: dict[str, list[tuple[str, str, str, dt.datetime]]] = field(default_factory=dict)
    now_playing: dict[str, tuple[str, str]] = field(default_factory=dict)
    fail_next: list[int] = field(default_factory=list)  # Last.fm error codes to answer next
    requests: list[dict[str, str]] = field(default_factory=list)

    def call(self, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        self.requests.append(query)
        if query.get("api_key") != self.api_key:
            return 403, {"error": 10, "message": "Invalid API key"}
        if self.fail_next:
            return 500, {"error": self.fail_next.pop(0), "message": "Temporarily unavailable"}
        user = query.get("user", "")
        if user not in self.users:
            return 404, {"error": 6, "message": "User not found"}
        if query.get("method") == "user.getinfo":
            return 200, {"user": {"name": user}}
        return 200, self._recent(user, query)

    def _recent(self, user: str, query: dict[str, str]) -> dict[str, Any]:
        since = int(query.get("from", 0))
        until = int(query.get("to", 2**40))
        limit = min(int(query.get("limit", 50)), 200)
        page = int(query.get("page", 1))
        scrobbles = sorted(
            (s for s in self.users[user] if since <= s[3].timestamp() <= until),
            key=lambda s: s[3],
            reverse=True,
        )
        pages = max(1, -(-len(scrobbles) // limit))
        chosen = scrobbles[(page - 1) * limit : page * limit]
        tracks: list[dict[str, Any]] = [
            {
                "artist": {"mbid": "", "#text": artist},
                "album": {"mbid": "", "#text": album},
                "name": name,
                "mbid": "",
                "url": "https://www.last.fm/music/x",
                "date": {"uts": str(int(when.timestamp())), "#text": when.strftime("%d %b %Y")},
            }
            for name, artist, album, when in chosen
        ]
        if user in self.now_playing and page == 1:
            name, artist = self.now_playing[user]
            tracks.insert(
                0,
                {
                    "artist": {"#text": artist},
                    "album": {"#text": ""},
                    "name": name,
                    "@attr": {"nowplaying": "true"},
                },
            )
        return {
            "recenttracks": {
                # A lone track comes as an object, not a list, as Last.fm sends it.
                "track": tracks[0] if len(tracks) == 1 else tracks,
                "@attr": {
                    "user": user,
                    "page": str(page),
                    "perPage": str(limit),
                    "totalPages": str(pages),
                    "total": str(len(scrobbles)),
                },
            }
        }


def _spotify_get(
    spotify: FakeSpotify, path: str, query: dict[str, str], auth: str
) -> tuple[int, dict[str, Any], dict[str, str]]:
    if path == "/authorize":
        status, headers = spotify.authorize(query)
        return status, {}, headers
    if path == "/v1/me":
        return (*spotify.me(query, auth), {})
    if path == "/v1/me/player/recently-played":
        spotify.requests.append(("GET", f"{path}?{urlencode(query)}"))
        if spotify.fail_next:
            status = spotify.fail_next.pop(0)
            return status, {"error": {"status": status, "message": "Failed"}}, {}
        return (*spotify.recently_played(query, auth), {})
    return 404, {"error": {"status": 404, "message": "Not found"}}, {}


def _handler(spotify: FakeSpotify | None, lastfm: FakeLastfm | None) -> type:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _answer(
            self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
        ) -> None:
            raw = json.dumps(body).encode()
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            auth = self.headers.get("Authorization", "")
            if url.path == "/2.0/" and lastfm is not None:
                self._answer(*lastfm.call(query))
            elif spotify is not None and url.path.startswith(("/authorize", "/v1/")):
                self._answer(*_spotify_get(spotify, url.path, query, auth))
            else:
                self._answer(404, {"error": {"status": 404, "message": "Not found"}})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            if self.path == "/api/token" and spotify is not None:
                spotify.requests.append(("POST", self.path))
                self._answer(*spotify.token(form))
            else:
                self._answer(404, {"error": "not found"})

    return Handler


@contextmanager
def serve(*, spotify: FakeSpotify | None = None, lastfm: FakeLastfm | None = None) -> Iterator[str]:
    """Serve the fakes on a free port; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(spotify, lastfm))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
