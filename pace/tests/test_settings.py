"""Settings come from the environment, switch services by their own variable, and fail loudly.

Each case starts a fresh interpreter: settings are read once, at import.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings

# Variables the cases set themselves; the rest of the environment is passed on.
OWN = ("DEBUG", "SECRET_KEY", "REDIS_URL", "DATABASE_URL", "DJANGO_SETTINGS_MODULE", "PACE_DOTENV")

SHOW = """
import json, django
django.setup()
import pytest
from django.conf import settings
from channels.layers import get_channel_layer
from pace.celery import app
print(json.dumps({
    "channels": type(get_channel_layer()).__module__ + "." + type(get_channel_layer()).__name__,
    "cache": settings.CACHES["default"]["BACKEND"],
    "celery_eager": app.conf.task_always_eager,
    "celery_broker": app.conf.broker_url.split("://")[0],
    "debug": settings.DEBUG,
}))
"""


def _python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in OWN}
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, "DJANGO_SETTINGS_MODULE": "pace.settings", "PACE_DOTENV": "", **env},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _settings(**env: str) -> dict[str, object]:
    done = _python(SHOW, **env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_it_refuses_to_start_without_a_secret_key_when_debug_is_off():
    for env in ({"SECRET_KEY": ""}, {}):
        done = _python("import django; django.setup()", **env)
        assert done.returncode != 0
        last_line = done.stderr.strip().splitlines()[-1]
        assert last_line == (
            "django.core.exceptions.ImproperlyConfigured: SECRET_KEY must be set when DEBUG is off"
        )


def test_it_starts_with_a_development_key_in_debug():
    assert _settings(DEBUG="1")["debug"] is True


def test_it_uses_redis_for_channels_and_a_celery_worker_when_redis_url_is_set():
    found = _settings(SECRET_KEY="k", REDIS_URL="redis://127.0.0.1:6379/0")
    assert found == {
        "channels": "channels_redis.core.RedisChannelLayer",
        "cache": "django.core.cache.backends.redis.RedisCache",
        "celery_eager": False,
        "celery_broker": "redis",
        "debug": False,
    }


def test_it_runs_in_memory_with_tasks_in_process_without_redis_url():
    found = _settings(SECRET_KEY="k")
    assert found == {
        "channels": "channels.layers.InMemoryChannelLayer",
        "cache": "django.core.cache.backends.locmem.LocMemCache",
        "celery_eager": True,
        "celery_broker": "memory",
        "debug": False,
    }


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("DEBUG", "maybe", "DEBUG must be true or false"),
        ("DATABASE_URL", "nonsense", "DATABASE_URL is not a database URL"),
        ("PAGE_CACHE_SECONDS", "abc", "PAGE_CACHE_SECONDS must be a whole number"),
        ("PLATFORM_FEE_PERCENT", "five", "PLATFORM_FEE_PERCENT must be a number"),
    ],
)
def test_it_refuses_values_that_do_not_parse(variable, value, message):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update({"SECRET_KEY": "x", variable: value, "DJANGO_SETTINGS_MODULE": "pace.settings"})
    env["PACE_DOTENV"] = ""
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=env, capture_output=True, text=True, cwd=settings.BASE_DIR, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert message in result.stderr


def test_it_reads_the_dotenv_that_make_run_writes(tmp_path):
    """A newcomer's `python manage.py ...` works after `make run` without exporting anything."""
    dotenv = tmp_path / ".env"
    dotenv.write_text("DEBUG=1\nSECRET_KEY=generated-by-make-run\n")
    assert _settings(PACE_DOTENV=str(dotenv))["debug"] is True
    # The environment wins over the file: production's DEBUG=0 is never undone by it.
    assert _settings(PACE_DOTENV=str(dotenv), DEBUG="0")["debug"] is False
