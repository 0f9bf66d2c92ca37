"""Tooling: test races (``testrace``), tracking's part of the demo (``demo``) and a race
simulator that plays real tracker clients.

The simulator speaks to a running Pace over the network as outside clients do; only
``roster``, ``testrace`` and ``demo`` touch the database. May import ``tracking.models``,
``tracking.selectors``, ``tracking.retention``, ``events`` and ``pace.lib``; nothing of
``tracking.web`` (``pyproject.toml``: the tracking rooms contract).
"""
