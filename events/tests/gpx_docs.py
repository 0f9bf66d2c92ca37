"""GPX documents written inline, for the tests of reading courses."""

from __future__ import annotations

GPX_HEAD = (
    '<?xml version="1.0"?><gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/1/1">'
)


def gpx_doc(body: str) -> str:
    """A GPX 1.1 file around ``body`` (tracks, routes, waypoints)."""
    return f"{GPX_HEAD}{body}</gpx>"
