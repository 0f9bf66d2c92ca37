"""Live state: a live race's engine, its ticker, and the store where processes meet.

Owns when a race is live (``window``), the name of its channel-layer group
(``groups``), the engine that turns fixes into standings, the ticker that runs it and
the live store. May import ``tracking.models``, ``tracking.selectors``, ``events`` and
``pace.lib``; nothing of ``tracking.fanout``, ``tracking.ingest``, ``tracking.web`` or
``tracking.sim`` (``pyproject.toml``: the tracking rooms contract).
"""
