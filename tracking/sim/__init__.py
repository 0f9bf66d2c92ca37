"""Tooling: test races (``testrace``) and a race simulator that plays real tracker clients.

The simulator speaks to a running Pace over the network as outside clients do; only
``roster`` and ``testrace`` touch the database. May import ``tracking.models``,
``tracking.selectors``, ``tracking.retention``, ``events`` and ``pace.lib``; nothing of
``tracking.web`` (``pyproject.toml``: the tracking rooms contract).
"""
