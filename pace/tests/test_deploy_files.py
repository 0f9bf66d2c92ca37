"""docker-compose.yml cannot run here (no Docker engine): keep it honest by reading it."""

from __future__ import annotations

import importlib
from pathlib import Path

import yaml
from django.conf import settings

ROOT = Path(settings.BASE_DIR)


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_it_describes_the_production_topology():
    services = _compose()["services"]
    assert {"postgres", "redis", "web", "tickers", "worker", "beat"} <= set(services)
    assert "healthcheck" in services["postgres"]
    assert any(v.startswith("pgdata:") for v in services["postgres"]["volumes"])
    assert services["web"]["command"][0] == "daphne"
    assert services["worker"]["command"][:3] == ["celery", "-A", "pace"]
    assert "DatabaseScheduler" in " ".join(services["beat"]["command"])
    assert services["tickers"]["command"] == ["python", "manage.py", "run_tickers"]
    for name in ("web", "tickers", "worker", "beat"):
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
