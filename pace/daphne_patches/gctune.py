"""Garbage-collector settings for long-running server processes (daphne, tickers).

A live race keeps thousands of sockets open, each with its protocol, consumer and
task objects: hundreds of thousands of long-lived containers. With CPython's
default thresholds (700, 10, 10) the churn of one tick (decoded messages, frames,
futures living about a second) is promoted into the old generations so fast that a
full collection ran every 2 to 3 s, each walking the whole heap: 0.3 to 0.5 s with the
event loop stopped, and 45 % of a daphne process's CPU (bench/live.py, 2,000
athletes and 5,000 spectators). A young generation of 50,000 lets a tick's garbage
die young, so little is promoted and full collections become rare.

Written against daphne 4.2.3 / Twisted 26.10.0 / autobahn 26.11.1; checked by
pace/tests/test_daphne_patches_upstream.py.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 50_000  # allocations between young collections (CPython default 700)
MIDDLE_THRESHOLD = 20  # young collections per middle one (default 10)
OLD_THRESHOLD = 10  # middle collections per full one (default 10; also needs 25 % growth)


def tune_for_server() -> None:
    """Freeze what is loaded by now (it lives as long as the process) and widen the
    young generation. Call once, after imports, in a server process."""
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)
