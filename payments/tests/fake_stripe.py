"""A local Stripe for tests: a ``stripe.HTTPClient`` answering like Stripe's API.

The real ``stripe`` library builds and sends every request; this client records
them (form fields as Stripe encodes them, e.g. ``line_items[0][quantity]``),
answers with JSON shaped like Stripe's, honours idempotency keys as Stripe does
(same key and parameters: the same answer; other parameters: an error) and
can be told to fail. Webhook payloads are signed as Stripe signs them.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import stripe

WEBHOOK_SECRET = "whsec_test_pace_0123456789"


@dataclass
class Call:
    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]


@dataclass
class Failure:
    path: str
    status: int
    error: dict[str, Any]
    times: int = 1


class FakeStripe(stripe.HTTPClient):
    name = "fake-stripe"

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[Call] = []
        self.accounts: dict[str, dict[str, Any]] = {}
        self.balances: dict[str, dict[str, Any]] = {}
        self.failures: list[Failure] = []
        self.replies: dict[str, tuple[dict[str, str], str]] = {}
        self._ids = itertools.count(1)

    # -- what tests ask -------------------------------------------------------
    def to(self, path: str, method: str = "POST") -> list[Call]:
        return [c for c in self.calls if c.path == path and c.method == method]

    def fail(self, path: str, status: int = 400, message: str = "Refused", kind: str = "") -> None:
        kind = kind or ("api_error" if status >= 500 else "invalid_request_error")
        self.failures.append(Failure(path, status, {"type": kind, "message": message}))

    # -- stripe.HTTPClient ----------------------------------------------------
    def request(
        self,
        method: str,
        url: str,
        headers: Any,
        post_data: Any = None,
        *,
        _usage: Any = None,
    ) -> tuple[str, int, dict[str, str]]:
        parts = urlsplit(url)
        raw = post_data.decode() if isinstance(post_data, bytes) else post_data
        params = dict(parse_qsl(raw if method == "post" else parts.query, keep_blank_values=True))
        call = Call(method.upper(), parts.path, params, dict(headers or {}))
        self.calls.append(call)
        for failure in self.failures:
            if failure.path == parts.path and failure.times > 0:
                failure.times -= 1
                return json.dumps({"error": failure.error}), failure.status, {}
        key = call.headers.get("Idempotency-Key", "")
        if key in self.replies:
            earlier, body = self.replies[key]
            if earlier != params:
                message = "Keys for idempotent requests can only be used with the same parameters"
                error = {"type": "idempotency_error", "message": message}
                return json.dumps({"error": error}), 400, {}
            return body, 200, {"Request-Id": "req_replayed"}
        status, answer = self._answer(call)
        body = json.dumps(answer)
        if key and status == 200:
            self.replies[key] = (params, body)
        return body, status, {"Request-Id": f"req_{next(self._ids)}"}

    def close(self) -> None:
        pass

    # -- Stripe's API, as much as Pace uses --------------------------------------
    def _answer(self, call: Call) -> tuple[int, dict[str, Any]]:
        n, p, path = next(self._ids), call.params, call.path
        now = int(time.time())
        if (call.method, path) == ("POST", "/v1/accounts"):
            account: dict[str, Any] = {
                "id": f"acct_fake{n}",
                "object": "account",
                "type": p.get("type"),
            }
            account.update(charges_enabled=False, payouts_enabled=False, details_submitted=False)
            self.accounts[account["id"]] = account
            return 200, account
        if call.method == "GET" and path.startswith("/v1/accounts/"):
            account_id = path.rsplit("/", 1)[1]
            if account_id not in self.accounts:
                return 403, account_invalid(account_id)
            return 200, self.accounts[account_id]
        if (call.method, path) == ("POST", "/v1/account_links"):
            url = f"https://connect.stripe.com/setup/e/{p['account']}/link{n}"
            return 200, {"object": "account_link", "url": url, "created": now, "expires_at": now}
        if (call.method, path) == ("POST", "/v1/checkout/sessions"):
            session_id = f"cs_test_{n}"
            return 200, {
                "id": session_id, "object": "checkout.session", "status": "open",
                "payment_status": "unpaid", "url": f"https://checkout.stripe.com/c/pay/{session_id}",
                "expires_at": int(p["expires_at"]),
                "amount_total": int(p["line_items[0][price_data][unit_amount]"]),
            }  # fmt: skip
        if (call.method, path) == ("POST", "/v1/refunds"):
            return 200, {
                "id": f"re_fake{n}", "object": "refund", "amount": int(p["amount"]),
                "payment_intent": p["payment_intent"], "status": "succeeded",
            }  # fmt: skip
        if (call.method, path) == ("GET", "/v1/balance"):
            empty: dict[str, Any] = {"available": [], "pending": []}
            connected = call.headers.get("Stripe-Account", "")
            return 200, {"object": "balance", **self.balances.get(connected, empty)}
        return 404, {"error": {"type": "invalid_request_error", "message": f"No route {path}"}}


def account_invalid(account_id: str) -> dict[str, Any]:
    """Stripe's answer about an account deleted, or no longer connected to the platform."""
    message = (
        f"The provided key 'sk_test_****pace' does not have access to account '{account_id}' "
        "(or that account does not exist). Application access may have been revoked."
    )
    error = {
        "code": "account_invalid", "doc_url": "https://stripe.com/docs/error-codes/account-invalid",
        "message": message, "type": "invalid_request_error",
    }  # fmt: skip
    return {"error": error}


def sign(payload: str, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header Stripe would send with this payload."""
    t = int(time.time()) if timestamp is None else timestamp
    signature = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={signature}"


def event(kind: str, obj: dict[str, Any], *, event_id: str = "", **more: Any) -> str:
    """A webhook body as Stripe sends it (``more``: e.g. ``account`` for Connect events)."""
    body = {
        "id": event_id or f"evt_{kind.replace('.', '_')}_{time.time_ns()}",
        "object": "event",
        "api_version": "2025-01-01",
        "created": int(time.time()),
        "type": kind,
        "livemode": False,
        "pending_webhooks": 1,
        "data": {"object": obj},
        **more,
    }
    return json.dumps(body)
