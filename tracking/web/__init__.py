"""Pages: the spectators' live page of a race and the athlete's tracker page.

May import every room below it (``tracking.ingest``, ``tracking.fanout``,
``tracking.live``), ``tracking.models`` and ``tracking.selectors``; nothing of
``tracking.sim`` (``pyproject.toml``: the tracking rooms contract).
"""
