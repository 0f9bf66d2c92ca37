"""Fan-out: from a race's tick, kudos and posts to every socket that shows them.

Owns the per-process hub of each race and its copy of the race (``mirror``), the
spectators' viewers and sockets (``consumers``, on the ``sockets`` base the ingest's
socket shares), kudos, posts and the spectator id. May import ``tracking.live``,
``tracking.models``, ``tracking.selectors``, ``events`` and ``pace.lib``; nothing of
``tracking.ingest``, ``tracking.web`` or ``tracking.sim`` (``pyproject.toml``: the
tracking rooms contract).
"""
