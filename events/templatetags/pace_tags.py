from __future__ import annotations

import datetime as dt
from typing import Any

from django import template

register = template.Library()

WIDTH, HEIGHT = 600.0, 120.0
# The least height a profile's box stands for: 150 m, or 4 m a kilometre of course. A flat
# city marathon rising 30 m over 42 km would otherwise fill the box and look like hills.
MIN_SPAN_M = 150.0
MIN_SPAN_M_PER_KM = 4.0


@register.simple_tag
def profile_path(profile: list[list[float]]) -> dict[str, Any]:
    """SVG path data for an elevation profile, drawn server-side: no chart library needed."""
    if len(profile) < 2:
        return {}
    total = profile[-1][0] or 1.0
    eles = [p[1] for p in profile]
    low, high = min(eles), max(eles)
    span = max(high - low, MIN_SPAN_M, total / 1000 * MIN_SPAN_M_PER_KM)
    pts = [
        (p[0] / total * WIDTH, HEIGHT - 8 - (p[1] - low) / span * (HEIGHT - 16)) for p in profile
    ]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
    return {
        "line": f"M{line}",
        "area": f"M0,{HEIGHT} L{line} L{WIDTH},{HEIGHT} Z",
        "low": round(low),
        "high": round(high),
        "width": int(WIDTH),
        "height": int(HEIGHT),
    }


@register.filter
def km(metres: float | None) -> str:
    if metres is None:
        return ""
    value = metres / 1000
    return f"{value:.1f}".rstrip("0").rstrip(".") if value < 100 else f"{value:.0f}"


@register.filter
def hours(value: dt.timedelta | None) -> str:
    """A time limit as people say it: "6 h", "2 h 30 min"."""
    if value is None:
        return ""
    minutes = int(value.total_seconds() // 60)
    h, m = divmod(minutes, 60)
    return f"{h} h {m} min" if m else f"{h} h"
