"""Ingest: fixes and posts in from phones (``/ws/track/``) and tracker apps (``/osmand/``).

Owns who sends them (``athletes``, ``trackers``, the device id rule and what each
process remembers of device ids), whether they are sane (``fixes``, ``osmand``) and
storing them before the ack (``commit``). An athlete's socket hears its race's hub, so
this room sits above the fan-out: it may import ``tracking.fanout``, ``tracking.live``,
``tracking.models``, ``events`` and ``pace.lib``; nothing of ``tracking.web`` or
``tracking.sim`` (``pyproject.toml``: the tracking rooms contract).
"""
