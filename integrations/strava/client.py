"""The one place that talks HTTP to Strava: timeouts, the shared quota, one error type.

Every request first reserves its place in the shared quota (``quota.Quota``) and every
response updates it from its headers; a 429 pauses every worker. Errors are
``StravaError`` with ``retryable`` saying whether trying again later can help.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import requests
from django.conf import settings

from integrations.strava.quota import Quota, QuotaSpentError
from integrations.tokens import TokenRefusedError, TokenSet
from pace.lib.clock import SYSTEM, Clock

logger = logging.getLogger(__name__)

STREAM_KEYS = "time,latlng,altitude,heartrate,cadence,velocity_smooth"


class StravaError(Exception):
    def __init__(self, message: str, *, retryable: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status


class StravaAuthError(StravaError):
    """401: the athlete's access token is refused (revoked, or deauthorised)."""


class StravaNotFoundError(StravaError):
    """404: the activity (or subscription) is gone, or private to its owner's eyes only."""


class StravaClient:
    def __init__(
        self,
        *,
        quota: Quota | None = None,
        clock: Clock = SYSTEM,
        session: requests.Session | None = None,
    ) -> None:
        self.clock = clock
        self.quota = quota or Quota(clock=clock)
        self.session = session or requests.Session()
        self.api_url = settings.STRAVA_API_URL
        self.oauth_url = settings.STRAVA_OAUTH_URL
        self.timeout = settings.STRAVA_TIMEOUT_SECONDS
        # The share of each limit this client's calls leave to fresh work (the backfill's
        # backlog sets it; see docs/integrations.md).
        self.reserve = 0.0

    def _send(self, method: str, url: str, *, read: bool, **kwargs: Any) -> requests.Response:
        window = self.quota.acquire(read=read, reserve=self.reserve)
        try:
            response = self.session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            # Not known to have reached Strava: counted anyway, erring on the safe side.
            raise StravaError(f"Strava unreachable: {exc}", retryable=True) from exc
        self.quota.record(response.headers, window=window)
        if response.status_code == 429:
            until = self.quota.pause(headers=response.headers)
            raise QuotaSpentError(until, "Strava answered 429")
        return response

    def _json(self, method: str, path: str, *, token: str | None, read: bool, **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = self._send(method, f"{self.api_url}{path}", read=read, headers=headers, **kw)
        status = response.status_code
        if status == 401:
            raise StravaAuthError("Strava refused the access token", retryable=False, status=401)
        if status == 404:
            raise StravaNotFoundError(f"Strava has no {path}", retryable=False, status=404)
        if status >= 400:
            raise StravaError(
                f"Strava answered {status} to {method} {path}",
                retryable=status >= 500,
                status=status,
            )
        if status == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise StravaError(f"Strava's {path} is not JSON", retryable=True) from exc

    # --- OAuth -------------------------------------------------------------------------
    def refresh(self, refresh_token: str) -> TokenSet:
        """New tokens for a refresh token; Strava may rotate the refresh token too."""
        response = self._send(
            "POST",
            f"{self.oauth_url}/token",
            read=False,
            data={
                "client_id": settings.STRAVA_CLIENT_ID,
                "client_secret": settings.STRAVA_CLIENT_SECRET,
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
            },
        )
        if response.status_code in (400, 401):
            raise TokenRefusedError(_error_of(response))
        if response.status_code >= 300:
            raise StravaError(
                f"Strava's token refresh answered {response.status_code}",
                retryable=response.status_code >= 500,
                status=response.status_code,
            )
        body = response.json()
        return TokenSet(
            access_token=body["access_token"],
            refresh_token=body.get("refresh_token") or refresh_token,
            expires_at=datetime.fromtimestamp(int(body["expires_at"]), tz=UTC),
        )

    def deauthorize(self, access_token: str) -> None:
        response = self._send(
            "POST", f"{self.oauth_url}/deauthorize", read=False, data={"access_token": access_token}
        )
        if response.status_code >= 500:
            raise StravaError("Strava's deauthorize failed", retryable=True)

    # --- Reads ---------------------------------------------------------------------------
    def athlete_activities(
        self, token: str, *, page: int, per_page: int, before: int
    ) -> list[dict[str, Any]]:
        params = {"page": page, "per_page": per_page, "before": before}
        body = self._json("GET", "/athlete/activities", token=token, read=True, params=params)
        if not isinstance(body, list):
            raise StravaError("Strava's activities are not a list", retryable=True)
        return body

    def activity(self, token: str, activity_id: int) -> dict[str, Any]:
        body = self._json("GET", f"/activities/{activity_id}", token=token, read=True)
        if not isinstance(body, dict):
            raise StravaError("Strava's activity is not an object", retryable=True)
        return body

    def streams(self, token: str, activity_id: int) -> dict[str, Any]:
        params = {"keys": STREAM_KEYS, "key_by_type": "true"}
        body = self._json(
            "GET", f"/activities/{activity_id}/streams", token=token, read=True, params=params
        )
        return body if isinstance(body, dict) else {}

    def athlete_stats(self, token: str, athlete_id: str) -> dict[str, Any]:
        body = self._json("GET", f"/athletes/{athlete_id}/stats", token=token, read=True)
        return body if isinstance(body, dict) else {}

    # --- Webhook subscription (the application's, with its client secret) --------------
    def _app_params(self) -> dict[str, str]:
        return {
            "client_id": settings.STRAVA_CLIENT_ID,
            "client_secret": settings.STRAVA_CLIENT_SECRET,
        }

    def subscriptions(self) -> list[dict[str, Any]]:
        body = self._json(
            "GET", "/push_subscriptions", token=None, read=True, params=self._app_params()
        )
        return body if isinstance(body, list) else []

    def create_subscription(self, *, callback_url: str, verify_token: str) -> dict[str, Any]:
        data = {**self._app_params(), "callback_url": callback_url, "verify_token": verify_token}
        body = self._json("POST", "/push_subscriptions", token=None, read=False, data=data)
        if not isinstance(body, dict) or "id" not in body:
            raise StravaError("Strava's subscription answer has no id", retryable=False)
        return body

    def delete_subscription(self, subscription_id: int) -> None:
        self._json(
            "DELETE",
            f"/push_subscriptions/{subscription_id}",
            token=None,
            read=False,
            params=self._app_params(),
        )


def _error_of(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    message = body.get("message") if isinstance(body, dict) else None
    return str(message or f"HTTP {response.status_code}")[:200]
