"""Shared personas for every app's tests.

alice owns "Alpha Races", bob is staff at Alpha, charlie owns "Bravo Events",
dave is an athlete with no organizer, iris is platform staff.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from events.tests.factories import (
    ROLES,
    make_course,
    make_event,
    make_organizer,
    make_race,
    make_user,
)
from pace.lib.testing import cache_clear_own, in_run_order

# Browser fixtures (browser, page, log_in) for every app's tests/browser/.
pytest_plugins = ["pace.browser_testing"]


# The longest test files (a minute or more each on CI), run first among their kind (browser
# tests run after the others: ``in_run_order`` says why).
SLOW_FIRST = (
    "tracking/tests/browser/test_live_results.py",
    "tracking/tests/test_field_budget.py",
    "pace/tests/any_input/test_routes.py",
    "tracking/tests/test_served_frames.py",
    "pace/tests/test_seed_demo.py",
    "events/tests/test_demo.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    in_run_order(items, SLOW_FIRST)


@pytest.fixture(autouse=True, scope="session")
def _no_background_threads(django_test_environment: None) -> None:
    """Tests run schedules and race tickers by hand: importing ``pace.asgi`` (as the
    ASGI tests do) must not start the embedded beat or tickers in the test process."""
    from django.conf import settings

    settings.EMBEDDED_SCHEDULER = False
    settings.EMBEDDED_TICKERS = False


@pytest.fixture(autouse=True)
def _executor_connections_closed() -> Iterator[None]:
    """Async code under test (the ORM's ``a`` methods, ``sync_to_async``) opens database
    connections in asgiref's one shared thread, and nothing there closes them: at the end
    of a run PostgreSQL would not drop the test database ("being accessed by other
    users"). Closed after each test."""
    yield
    from asgiref.sync import SyncToAsync
    from django.db import connections

    SyncToAsync.single_thread_executor.submit(connections.close_all).result()


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    """PBKDF2 is slow by design; tests don't need it to be."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _plain_static_files(settings: Any) -> None:
    """The hashed-name manifest exists only after collectstatic, which tests don't run."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _tasks_in_process() -> Iterator[None]:
    """Tasks run when enqueued, as in the embedded default, also when REDIS_URL is set."""
    from pace.celery import app

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = eager


@pytest.fixture(autouse=True)
def _isolated_cache(settings: Any) -> None:
    """Each test starts with an empty cache (on Redis only this worker's keys go), and no
    race's results kept in the process's memory (ids and stamps repeat across tests)."""
    from results.tables import forget_tables

    cache_clear_own()
    forget_tables()


@pytest.fixture
def alice(db: None) -> Any:
    return make_user("alice")


@pytest.fixture
def bob(db: None) -> Any:
    return make_user("bob")


@pytest.fixture
def charlie(db: None) -> Any:
    return make_user("charlie")


@pytest.fixture
def dave(db: None) -> Any:
    return make_user("dave")


@pytest.fixture
def iris(db: None) -> Any:
    return make_user("iris", staff=True)


@pytest.fixture
def as_alice(client: Client, alice: Any) -> Client:
    """The test client, signed in as alice."""
    client.force_login(alice)
    return client


@pytest.fixture
def alpha(alice: Any, bob: Any) -> Any:
    return make_organizer("Alpha Races", members={alice: ROLES.OWNER, bob: ROLES.STAFF})


@pytest.fixture
def bravo(charlie: Any) -> Any:
    return make_organizer("Bravo Events", members={charlie: ROLES.OWNER})


@pytest.fixture
def alpha_event(alpha: Any) -> Any:
    event = make_event(alpha, "Alpha Marathon")
    make_race(event, "Marathon", distance_m=42195, course=make_course(alpha, distance_m=42195))
    return event


@pytest.fixture
def bravo_event(bravo: Any) -> Any:
    event = make_event(bravo, "Bravo Trail", sport="trail", country="CH", place="Zermatt")
    make_race(event, "Trail 20K", distance_m=20000, course=make_course(bravo, seed=2))
    return event
