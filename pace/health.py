"""Liveness and readiness probes for load balancers and monitoring."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

logger = logging.getLogger(__name__)


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def check_database() -> str | None:
    """Return why the database is unusable, or None."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "not ready"
        logger.warning("readyz: database check failed: %s", exc)
        return f"{type(exc).__name__}: {exc}"
    return None


def check_redis() -> str | None:
    """Return why Redis is unusable, or None (also None when Redis is not configured)."""
    if not settings.REDIS_URL:
        return None
    import redis

    try:
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1
        )
        client.ping()
    except (redis.RedisError, ValueError) as exc:  # ValueError: a malformed REDIS_URL
        logger.warning("readyz: redis check failed: %s", exc)
        return f"{type(exc).__name__}: {exc}"
    return None


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    checks = {"database": check_database(), "redis": check_redis()}
    failing = {name: why for name, why in checks.items() if why}
    if failing:
        return JsonResponse({"status": "unavailable", "failing": failing}, status=503)
    return JsonResponse(
        {
            "status": "ok",
            "checks": {"database": "ok", "redis": "ok" if settings.REDIS_URL else "off"},
        }
    )
