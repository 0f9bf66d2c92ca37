"""Probes for load balancers: /healthz says the process is up, /readyz that it can serve."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connections
from django.test import Client

from pace import health

pytestmark = pytest.mark.django_db


@pytest.fixture
def missing_database(tmp_path: Path) -> Iterator[None]:
    """The default connection pointed at a database that isn't there, as after a bad deploy.

    The test database's own connection stays open (and SQLite's in-memory test
    database would be lost if it were closed), so a second, real connection
    with the wrong name stands in for it while the test runs.
    """
    real = connections["default"]
    settings_dict = {**real.settings_dict}
    if real.vendor == "sqlite":
        settings_dict["NAME"] = str(tmp_path / "no-such-directory" / "pace.sqlite3")
    else:
        settings_dict["NAME"] = "pace_no_such_database"
    broken = type(real)(settings_dict, alias="default")
    connections["default"] = broken
    try:
        yield
    finally:
        connections["default"] = real
        broken.close()


def test_it_says_the_process_is_alive(client: Client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_it_says_ready_when_the_database_and_redis_answer(client: Client, settings):
    response = client.get("/readyz")
    assert response.status_code == 200
    redis_check = "ok" if settings.REDIS_URL else "off"
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "redis": redis_check},
    }
    assert "no-cache" in response["Cache-Control"]


def test_it_says_unavailable_when_redis_does_not_answer(client: Client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert list(body["failing"]) == ["redis"]
    assert body["failing"]["redis"].startswith("ConnectionError:")


def test_it_says_unavailable_when_redis_url_is_malformed(client: Client, settings):
    settings.REDIS_URL = "localhost:6379"
    response = client.get("/readyz")
    assert response.status_code == 503
    assert list(response.json()["failing"]) == ["redis"]
    assert "Redis URL must specify" in response.json()["failing"]["redis"]


def test_it_says_unavailable_when_the_database_cannot_be_reached(
    client: Client, missing_database: None
):
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert "database" in body["failing"]
    assert body["failing"]["database"].startswith("OperationalError:")


def test_it_reports_the_database_driver_error(missing_database: None):
    reason = health.check_database()
    assert reason is not None
    assert reason.startswith("OperationalError:")


def test_it_finds_the_database_usable_again_once_it_is_back():
    assert health.check_database() is None
