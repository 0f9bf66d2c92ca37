"""The browser fixtures of the events app (one Chromium per session, log_in), shared."""

from __future__ import annotations

from events.tests.browser.conftest import (  # noqa: F401
    _no_map_tiles,
    browser,
    log_in,
    page,
    pytest_runtest_makereport,
)
