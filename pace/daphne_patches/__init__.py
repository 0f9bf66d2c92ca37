"""Adaptations of daphne, Twisted and autobahn internals that Pace's live engine needs.

Everything here reaches into a server library's private parts (Twisted's TCP
``Connection.write``, daphne's sweeps and reply path, autobahn's frame writer) or
runs Django's handler in a way daphne does not: an upgrade of any of them can break
it silently. ``WRITTEN_AGAINST`` names the versions each was written and measured
against; ``pace/tests/test_daphne_patches_upstream.py`` fails when an installed
version or the source of a patched upstream function differs, so an upgrade is
a decision, re-measured with ``make bench``, and never an accident.

Imports no Pace app: only ``pace.lib`` and the server libraries.
"""

WRITTEN_AGAINST = {"daphne": "4.2.3", "twisted": "26.10.0", "autobahn": "26.11.1"}
