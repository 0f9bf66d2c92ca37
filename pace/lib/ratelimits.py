"""Abuse limits shared by every process: one counter per (limit, key) in the default cache.

The cache is Redis in production and local memory in the embedded default (one process),
so a limit holds across daphne and web processes alike. Counting is django-ratelimit's
fixed window (``get_usage``); this module only names the limits (``settings.RATE_LIMITS``,
chosen in README's "Abuse limits"), finds the client's address, and answers 429 the same
way everywhere.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.utils.crypto import salted_hmac
from django_ratelimit.core import get_usage

from pace.lib.clock import SYSTEM, Clock

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limited:
    """A refused attempt: which limit said no and when the client may try again."""

    name: str
    retry_after: int

    @property
    def reason(self) -> str:
        return f"Too many requests ({self.name}); try again in {self.retry_after} s."


def hit(*, name: str, key: str, increment: bool = True) -> Limited | None:
    """Count one attempt against limit ``name`` for ``key``; a ``Limited`` when over it.

    ``key`` identifies the client (an IP, an account id, a device id); limits not in
    ``settings.RATE_LIMITS`` (or set to ``None``) never refuse.
    """
    rate = settings.RATE_LIMITS.get(name)
    if not rate:
        return None
    try:
        usage = get_usage(
            None,
            group=f"pace.{name}",
            key=lambda _group, _request: key,
            rate=rate,
            increment=increment,
        )
    except Exception:
        # The cache is down (Redis): let the attempt through. A limit is a guard, not a
        # dependency: phones must still connect and get their fixes acked without Redis.
        logger.warning("rate limit %s not counted: the cache failed", name, exc_info=True)
        return None
    if usage is None or not usage["should_limit"]:
        return None
    return Limited(name=name, retry_after=max(1, int(usage["time_left"])))


# Seconds of a rate's unit ("100/15m": 100 per 15 minutes), as django-ratelimit reads it.
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def rate_window(rate: str) -> tuple[int, int]:
    """``(count, seconds)`` of a rate like ``30/h`` or ``100/15m`` (settings check the form)."""
    count, period = rate.split("/")
    return int(count), int(period[:-1] or 1) * _UNITS[period[-1]]


class LocalWindow:
    """Limit ``name`` counted in this process's memory, for answers that do no I/O at all.

    The page fast path (``pace.daphne_patches.fastpath``) answers shared documents from
    memory in the event loop, where a Redis count would cost more than the answer. Each
    process counts its own requests: with N processes a client may get up to N times the
    rate before Django, which counts in the shared cache, answers the rest (and refuses
    past the shared limit).
    """

    def __init__(self, name: str, clock: Clock = SYSTEM) -> None:
        self.name = name
        self.clock = clock
        self.window = -1
        self.counts: dict[str, int] = {}

    def allow(self, key: str) -> bool:
        """Count one attempt for ``key``; False once the current window's count is spent."""
        rate = settings.RATE_LIMITS.get(self.name)
        if not rate:
            return True
        limit, seconds = rate_window(rate)
        window = int(self.clock.monotonic() // seconds)
        if window != self.window:  # a fixed window, as the shared limits count
            self.window, self.counts = window, {}
        count = self.counts.get(key, 0) + 1
        self.counts[key] = count
        return count <= limit


async def ahit(*, name: str, key: str, increment: bool = True) -> Limited | None:
    """``hit`` for async code (consumers): the cache's calls run off the event loop."""
    from asgiref.sync import sync_to_async

    if not settings.RATE_LIMITS.get(name):
        return None
    return await sync_to_async(hit, thread_sensitive=False)(name=name, key=key, increment=increment)


def first_limited(*, attempts: list[tuple[str, str]]) -> Limited | None:
    """Count an attempt against several limits (all of them); the first that refuses."""
    refused = [hit(name=name, key=key) for name, key in attempts]
    return next((limited for limited in refused if limited), None)


def too_many_requests(limited: Limited) -> JsonResponse:
    """The one 429 answer of HTTP endpoints: a reason and ``Retry-After``."""
    response = JsonResponse({"error": limited.reason}, status=429)
    response["Retry-After"] = str(limited.retry_after)
    return response


def client_ip(*, remote_addr: str | None, forwarded_for: str | None, ipv6_prefix: int = 64) -> str:
    """The client's address: behind the proxy (``BEHIND_PROXY``) its last hop's X-Forwarded-For.

    Only the entry the proxy itself appended can be trusted: earlier entries are whatever
    the client sent. IPv6 clients are grouped by ``ipv6_prefix``: /64 by default, as one
    household gets one; a site (an office, or anyone renting a server) gets a /48, so
    limits on what costs others a place (entries) group by that.
    """
    address = remote_addr or ""
    if settings.BEHIND_PROXY and forwarded_for:
        address = forwarded_for.split(",")[-1].strip()
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address or "unknown"
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/{ipv6_prefix}", strict=False).network_address)
    return str(ip)


def request_ip(request: HttpRequest, *, ipv6_prefix: int = 64) -> str:
    """``client_ip`` of a Django request."""
    return client_ip(
        remote_addr=request.META.get("REMOTE_ADDR"),
        forwarded_for=request.META.get("HTTP_X_FORWARDED_FOR"),
        ipv6_prefix=ipv6_prefix,
    )


def scope_ip(scope: dict[str, object], *, ipv6_prefix: int = 64) -> str:
    """``client_ip`` of an ASGI scope (WebSocket consumers)."""
    client = scope.get("client")
    headers = dict(scope.get("headers") or [])  # type: ignore[call-overload]
    forwarded = headers.get(b"x-forwarded-for")
    return client_ip(
        remote_addr=client[0] if isinstance(client, list | tuple) and client else None,
        forwarded_for=forwarded.decode("latin-1") if forwarded else None,
        ipv6_prefix=ipv6_prefix,
    )


def ip_digest(ip: str) -> str:
    """A keyed hash of a client's address (``client_ip``) to store instead of the address.

    An address is personal data; keyed, as IPv4's few billion would give a plain hash back.
    """
    return salted_hmac("pace.ratelimits.ip_digest", ip, algorithm="sha256").hexdigest()
