"""docker-compose.yml cannot run here (no Docker engine): keep it honest by reading it."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import yaml
from django.conf import settings

ROOT = Path(settings.BASE_DIR)


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_it_describes_the_production_topology():
    services = _compose()["services"]
    assert {"postgres", "redis", "web", "live", "tickers", "worker", "beat"} <= set(services)
    assert "healthcheck" in services["postgres"]
    assert any(v.startswith("pgdata:") for v in services["postgres"]["volumes"])
    assert services["web"]["command"][0] == "daphne"
    assert services["worker"]["command"][:3] == ["celery", "-A", "pace"]
    assert "DatabaseScheduler" in " ".join(services["beat"]["command"])
    assert services["tickers"]["command"] == ["python", "manage.py", "run_tickers"]
    assert services["live"]["command"] == services["web"]["command"]
    for name in ("web", "live", "tickers", "worker", "beat"):
        assert services[name]["networks"] == ["pace"]
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://")
        assert env["REDIS_URL"].startswith("redis://")


def test_it_points_at_code_that_exists():
    web = _compose()["services"]["web"]["command"]
    module, attr = web[-1].split(":")
    assert hasattr(importlib.import_module(module), attr)
    assert importlib.import_module("pace.celery").app.main == "pace"
    assert importlib.import_module("tracking.management.commands.run_tickers").Command
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pace.asgi:application" in dockerfile
    assert "collectstatic" in dockerfile


def test_it_has_the_make_targets_the_readme_names():
    makefile = (ROOT / "Makefile").read_text()
    readme = (ROOT / "README.md").read_text()
    for target in ("run", "test", "bench", "build", "up", "down", "logs", "psql", "migrate"):
        assert f"\n{target}:" in makefile or f" {target}:" in makefile, target
        assert f"make {target}" in readme, target


def test_it_collects_static_files_as_production_does(tmp_path, settings):
    """The Dockerfile runs collectstatic with the manifest storage: every reference must resolve."""
    from django.core.management import call_command

    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    call_command("collectstatic", "--noinput", verbosity=0)
    assert (tmp_path / "staticfiles.json").exists()
    assert list(tmp_path.glob("vendor/leaflet/leaflet.*.js"))


def _compose_app_environment() -> dict[str, str]:
    """The app services' environment as Compose would set it (``${VAR:-default}`` resolved)."""
    import re

    raw = _compose()["x-app"]["environment"]
    given = {
        "SECRET_KEY": "a-production-key-" + "x" * 50,
        "SITE_HOST": "race.example.org",
        "PACE_TOKEN_KEYS": "k1:" + "MTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTE=",  # 32 bytes
    }

    def resolve(value: str) -> str:
        pattern = r"\$\{(\w+)(?::[-?]([^}]*))?\}"
        return re.sub(pattern, lambda m: given.get(m[1], m[2] or ""), str(value))

    return {name: resolve(value) for name, value in raw.items()}


def test_it_serves_production_over_https_only_behind_its_proxy():
    compose = _compose()
    services = compose["services"]
    for name in ("web", "live"):
        assert "ports" not in services[name], "only the TLS proxy may reach daphne"
    assert services["proxy"]["configs"] == [
        {"source": "caddyfile", "target": "/etc/caddy/Caddyfile"}
    ]
    env = _compose_app_environment()
    assert env["DEBUG"] == "0"
    assert env["SECURE_COOKIES"] == env["BEHIND_PROXY"] == env["SECURE_SSL_REDIRECT"] == "1"
    assert int(env["SECURE_HSTS_SECONDS"]) >= 31536000
    assert env["SITE_URL"] == "https://race.example.org"
    assert env["CSRF_TRUSTED_ORIGINS"] == "https://race.example.org"


def test_it_passes_djangos_deployment_checks_with_the_compose_environment():
    """`manage.py check --deploy` on the settings docker-compose.yml gives the app."""
    import os
    import subprocess
    import sys

    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY")},
        **_compose_app_environment(),
        "PACE_DOTENV": "",
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.django_db
def test_it_answers_https_requests_with_hsts_and_secure_cookies(client, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_SSL_REDIRECT = True
    plain = client.get("/", HTTP_X_FORWARDED_PROTO="http")
    assert plain.status_code == 301 and plain["Location"].startswith("https://")
    served = client.get("/", HTTP_X_FORWARDED_PROTO="https")
    assert served.status_code == 200
    assert served["Strict-Transport-Security"].startswith("max-age=31536000")


def _caddy_routes() -> tuple[list[str], str, str]:
    """The proxy's Caddyfile: the live matcher's paths, the live and the other upstreams."""
    caddyfile = _compose()["configs"]["caddyfile"]["content"]
    lines = [line.strip() for line in caddyfile.splitlines()]
    assert lines[0] == "${SITE_HOST:-localhost} {", "compose puts the site's name in"
    (matcher,) = [line for line in lines if line.startswith("@live path ")]
    live = lines[lines.index("dynamic a {") + 1]
    (fallback,) = [line for line in lines if line.startswith("reverse_proxy ") and ":" in line]
    return matcher.split()[2:], live, fallback


def _caddy_matches(pattern: str, path: str) -> bool:
    # Caddy's path matcher: exact, or a prefix with a trailing *.
    return path.startswith(pattern[:-1]) if pattern.endswith("*") else path == pattern


def test_its_proxy_sends_every_socket_and_osmand_to_live_and_the_rest_to_web():
    """The pages never wait behind the phones (docs/live-tracking.md, "Pages apart from the
    live load"): every WebSocket route and OsmAnd's fixes go to ``live``, nothing else."""
    from django.urls import reverse

    from pace.routing import websocket_urlpatterns

    patterns, live, fallback = _caddy_routes()
    assert live == "name live" and fallback == "reverse_proxy web:8000"
    sockets = [
        "/" + str(route.pattern).replace("<int:race_id>", "7") for route in websocket_urlpatterns
    ]
    assert len(sockets) >= 3
    osmand = reverse("tracking:osmand")
    for path in (*sockets, osmand, osmand + "?id=abc&lat=1", osmand.rstrip("/")):
        assert any(_caddy_matches(p, path.split("?")[0]) for p in patterns), path
    pages = ["/", "/track/", "/live/e/r/", "/live/e/r/field.json", "/admin/", "/healthz",
             "/control/e/r/", "/static/tracking/live.js", "/embed/e/r/", "/osmandx/"]  # fmt: skip
    for page in pages:
        assert not any(_caddy_matches(p, page) for p in patterns), page
