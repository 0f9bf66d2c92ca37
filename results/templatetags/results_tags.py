"""Template filters for results pages: times as ``results.formatting`` writes them."""

from __future__ import annotations

from django import template

from results import formatting
from results.seo import athlete_path

register = template.Library()
DASH = "\u2013"  # what a table shows for no time or rank


@register.filter
def race_time(ms: int | None) -> str:
    return formatting.duration(ms) or DASH


@register.filter
def ordinal(rank: int | None) -> str:
    """1st, 2nd, 3rd, 11th, 21st..."""
    if rank is None:
        return DASH
    suffix = "th" if 10 <= rank % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(rank % 10, "th")
    return f"{rank}{suffix}"


@register.simple_tag
def athlete_url(event_slug: str, race_slug: str, bib: str) -> str:
    """An athlete's page, also for a bib that is a page's name (``seo.athlete_path``)."""
    return athlete_path(event_slug, race_slug, bib)
