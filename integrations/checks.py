"""System checks: token keys that parse (always) and that production sets them (--deploy)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from pace.lib import sealing


@checks.register(checks.Tags.security)
def token_keys_parse(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    try:
        sealing.parse_keys(settings.PACE_TOKEN_KEYS)
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="integrations.E001")]
    return []


@checks.register(checks.Tags.security, deploy=True)
def token_keys_set(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    if settings.PACE_TOKEN_KEYS:
        return []
    return [
        checks.Error(
            "PACE_TOKEN_KEYS is not set: provider tokens would be sealed with a key derived "
            "from SECRET_KEY, meant for the embedded default only",
            hint="Set PACE_TOKEN_KEYS=k1:<32 random bytes, base64> (README, Strava).",
            id="integrations.E002",
        )
    ]
