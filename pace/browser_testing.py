"""Browser-test fixtures (a pytest plugin named in the root conftest): real headless
Chromium (Debian's, not Playwright's download) against the live server.

One browser per test process, shared by every app's browser tests (two sync
Playwright instances cannot live in one thread); one fresh context per test.
Chromium resolves no host name but the live server's, so a page can never
reach the internet from a test.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from pace.lib.chromium import CHROMIUM, chromium_args
from pace.lib.testing import PASSWORD, WAIT_SECONDS

# Every host name but the live server's fails to resolve: nothing leaves the machine.
CHROMIUM_ARGS = chromium_args("localhost")
TIMEOUT_MS = int(WAIT_SECONDS * 1000)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the test item, so ``page`` knows if the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (make chromium, or set PACE_CHROMIUM)")
    from playwright.sync_api import expect, sync_playwright

    # expect() retries for 5 s by default, half what actions get: as long as they do.
    expect.set_options(timeout=TIMEOUT_MS)
    # Playwright's sync API runs an event loop in this thread; the ORM then refuses
    # to run unless told that this thread is not really async.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(
    browser: Any, live_server: Any, settings: Any, request: pytest.FixtureRequest, tmp_path: Path
) -> Any:
    """A page in its own browser context, with a screenshot in tmp_path if the test fails."""
    # Courses draw on a plain background: no tile requests leave the machine.
    settings.MAP_TILE_URL = ""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)

    new_page = context.new_page()
    new_page.js_errors = []
    new_page.on("pageerror", lambda exc: new_page.js_errors.append(str(exc)))
    yield new_page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        shot = tmp_path / "failure.png"
        new_page.screenshot(path=str(shot), full_page=True)
        print(f"screenshot of the failed page: {shot}")
    context.close()


@pytest.fixture
def log_in(page: Any, live_server: Any) -> Callable[..., None]:
    """Sign in with e-mail and password on the site's login page and land on ``then``."""

    def sign_in(user: Any, *, then: str = "/admin/") -> None:
        page.goto(f"{live_server.url}/accounts/login/?{urlencode({'next': then})}")
        page.fill("input[name=login]", user.email)
        page.fill("input[name=password]", PASSWORD)
        page.click("main form button[type=submit]")
        page.wait_for_url(f"{live_server.url}{then}")

    return sign_in
