"""A local fake of Strava's API over real HTTP: OAuth token exchange and refresh (rotating
refresh tokens), deauthorize, athlete activities (paged, newest first, ``before``),
activity, streams, athlete stats, push subscriptions, with Strava's rate-limit headers
and a 429 past the limits."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

from integrations.strava.quota import day_start, window_start
from pace.lib.clock import SYSTEM, Clock


@dataclass
class FakeAthlete:
    athlete_id: int
    activities: int  # how many, newest first, one a day back from ``newest``
    newest: datetime = field(default_factory=lambda: datetime(2026, 11, 30, 7, tzinfo=UTC))
    access_token: str = ""
    refresh_token: str = ""
    revoked: bool = False

    def activity(self, index: int) -> dict[str, Any]:
        start = self.newest - timedelta(days=index)
        activity_id = self.athlete_id * 100_000 + index
        return {
            "id": activity_id,
            "name": f"Morning Run {index}",
            "sport_type": "Run",
            "type": "Run",
            "start_date": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "elapsed_time": 3000 + index,
            "moving_time": 2900,
            "distance": 10000.0 + index,
            "total_elevation_gain": 42.0,
            "average_heartrate": 151.2,
            "manual": False,
            "map": {"summary_polyline": "a~l~Fjk~uOwHJy@P"},
        }


class FakeStrava:
    def __init__(self, *, clock: Clock = SYSTEM) -> None:
        self.clock = clock
        self.athletes: dict[int, FakeAthlete] = {}
        self.limits = {"read": (100, 1000), "all": (200, 2000)}
        self.usage: dict[tuple[str, str, int], int] = {}
        self.requests: list[tuple[str, str]] = []
        self.responses_429 = 0
        self.subscriptions: dict[int, str] = {}
        self.deauthorized: list[str] = []
        self.force_429 = False
        self.authorizing = 0  # the athlete whose browser goes through /oauth/authorize
        self.serial = 0
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- state ---
    def add_athlete(self, athlete_id: int, activities: int) -> FakeAthlete:
        athlete = FakeAthlete(athlete_id, activities)
        self._issue(athlete)
        self.athletes[athlete_id] = athlete
        return athlete

    def _issue(self, athlete: FakeAthlete) -> None:
        self.serial += 1
        athlete.access_token = f"access-{athlete.athlete_id}-{self.serial}"
        athlete.refresh_token = f"refresh-{athlete.athlete_id}-{self.serial}"

    def token_body(self, athlete: FakeAthlete, *, expires_in: int = 21600) -> dict[str, Any]:
        return {
            "token_type": "Bearer",
            "access_token": athlete.access_token,
            "refresh_token": athlete.refresh_token,
            "expires_at": int(self.clock.time()) + expires_in,
            "expires_in": expires_in,
            "athlete": {"id": athlete.athlete_id, "firstname": "Ann", "lastname": "Runner"},
        }

    def _by_token(self, token: str) -> FakeAthlete | None:
        return next(
            (a for a in self.athletes.values() if a.access_token == token and not a.revoked), None
        )

    def _count(self, read: bool) -> tuple[dict[str, str], bool]:
        now = self.clock.time()
        kinds = ["all", "read"] if read else ["all"]
        over = False
        with self.lock:
            for kind in kinds:
                for period, start in (("15", window_start(now)), ("day", day_start(now))):
                    key = (kind, period, start)
                    self.usage[key] = self.usage.get(key, 0) + 1
                    limit = self.limits[kind][0 if period == "15" else 1]
                    over = over or self.usage[key] > limit
            used = {
                kind: (
                    self.usage.get((kind, "15", window_start(now)), 0),
                    self.usage.get((kind, "day", day_start(now)), 0),
                )
                for kind in ("all", "read")
            }
        headers = {
            "X-RateLimit-Limit": "{},{}".format(*self.limits["all"]),
            "X-RateLimit-Usage": "{},{}".format(*used["all"]),
            "X-ReadRateLimit-Limit": "{},{}".format(*self.limits["read"]),
            "X-ReadRateLimit-Usage": "{},{}".format(*used["read"]),
        }
        return headers, over or self.force_429

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: Any, headers: dict[str, str]) -> None:
                if status == 302:
                    headers, body = {**headers, **body}, {}
                raw = b"" if status == 204 else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(raw)

            def _form(self) -> dict[str, str]:
                length = int(self.headers.get("Content-Length") or 0)
                data = parse_qs(self.rfile.read(length).decode())
                return {k: v[0] for k, v in data.items()}

            def do_GET(self) -> None:
                fake._route(self, "GET", {})

            def do_POST(self) -> None:
                fake._route(self, "POST", self._form())

            def do_DELETE(self) -> None:
                fake._route(self, "DELETE", {})

        return Handler

    def _route(self, h: Any, method: str, form: dict[str, str]) -> None:
        url = urlparse(h.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        path = url.path
        if path == "/oauth/authorize":  # the athlete says yes at once
            h._send(*self._authorize(query), {})
            return
        self.requests.append((method, path))
        headers, over = self._count(read=method == "GET")
        if over:
            self.responses_429 += 1
            h._send(429, {"message": "Rate Limit Exceeded"}, headers)
            return
        if path == "/oauth/token":
            h._send(*self._token(form), headers)
            return
        if path == "/oauth/deauthorize":
            athlete = self._by_token(form.get("access_token", ""))
            if athlete is None:
                h._send(401, {"message": "Authorization Error"}, headers)
                return
            athlete.revoked = True
            self.deauthorized.append(form["access_token"])
            h._send(200, {"access_token": form["access_token"]}, headers)
            return
        if path.startswith("/api/v3/push_subscriptions"):
            h._send(*self._subscriptions(method, path, form), headers)
            return
        token = (h.headers.get("Authorization") or "").removeprefix("Bearer ")
        athlete = self._by_token(token)
        if athlete is None:
            h._send(401, {"message": "Authorization Error", "errors": []}, headers)
            return
        h._send(*self._read(athlete, path, query), headers)

    def _authorize(self, query: dict[str, str]) -> tuple[int, Any]:
        athlete_id = self.authorizing
        target = query.get("redirect_uri", "")
        code = urlencode(
            {
                "state": query.get("state", ""),
                "code": f"code-{athlete_id}",
                "scope": query.get("scope", ""),
            }
        )
        return 302, {"Location": f"{target}?{code}"}

    def _token(self, form: dict[str, str]) -> tuple[int, Any]:
        if form.get("grant_type") == "authorization_code":
            return 200, self.token_body(self.athletes[int(form["code"].removeprefix("code-"))])
        athlete = next(
            (a for a in self.athletes.values() if a.refresh_token == form.get("refresh_token")),
            None,
        )
        if athlete is None or athlete.revoked:
            return 400, {
                "message": "Bad Request",
                "errors": [{"code": "invalid", "field": "refresh_token"}],
            }
        self._issue(athlete)  # Strava rotates: the old refresh token is dead now
        return 200, self.token_body(athlete)

    def _read(self, athlete: FakeAthlete, path: str, query: dict[str, str]) -> tuple[int, Any]:
        if path == "/api/v3/athlete":
            return 200, {"id": athlete.athlete_id, "firstname": "Ann", "lastname": "Runner"}
        if path == "/api/v3/athlete/activities":
            page, per_page = int(query.get("page", 1)), int(query.get("per_page", 30))
            first = (page - 1) * per_page
            last = min(first + per_page, athlete.activities)
            return 200, [athlete.activity(i) for i in range(first, last)]
        if path == f"/api/v3/athletes/{athlete.athlete_id}/stats":
            return 200, {
                "all_run_totals": {"count": max(0, athlete.activities - 5)},
                "all_ride_totals": {"count": 0},
                "all_swim_totals": {"count": 0},
            }
        parts = path.removeprefix("/api/v3/activities/").split("/")
        index = int(parts[0]) - athlete.athlete_id * 100_000
        if not 0 <= index < athlete.activities:
            return 404, {"message": "Record Not Found"}
        if len(parts) == 1:
            return 200, athlete.activity(index)
        n = 60
        return 200, {
            "time": {"data": list(range(0, n * 5, 5))},
            "latlng": {"data": [[52.5 + i * 1e-4, 13.4] for i in range(n)]},
            "altitude": {"data": [34.0] * n},
            "heartrate": {"data": [150] * n},
            "cadence": {"data": [86] * n},
            "velocity_smooth": {"data": [3.3] * n},
        }

    def _subscriptions(self, method: str, path: str, form: dict[str, str]) -> tuple[int, Any]:
        if method == "POST":
            sub_id = 4242 + len(self.subscriptions)
            self.subscriptions[sub_id] = form["callback_url"]
            return 201, {"id": sub_id}
        if method == "DELETE":
            self.subscriptions.pop(int(path.rsplit("/", 1)[1]), None)
            return 204, None
        return 200, [{"id": k, "callback_url": v} for k, v in self.subscriptions.items()]
