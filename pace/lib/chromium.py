"""The headless Chromium that browser tests and the page bench drive: Debian's (not
Playwright's download), and its flags."""

from __future__ import annotations

import os

CHROMIUM = os.environ.get("PACE_CHROMIUM", "/usr/bin/chromium")


def chromium_args(server_host: str) -> list[str]:
    """Flags for a quiet, offline Chromium: every host name but ``server_host`` fails to
    resolve, so a page never reaches the internet."""
    return [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE {server_host}",
    ]
