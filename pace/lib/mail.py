"""E-mail headers from text people typed: one line, or refused.

Django refuses a header holding a line break (``BadHeaderError``, against header
injection) at send time, far from where the text was typed. Subjects built from
names (an event's, a race's, an athlete's) go through ``one_line``; a subject
typed into a form is checked with ``has_line_break`` and refused with a reason.
"""

from __future__ import annotations

import re

# Line breaks and other control characters, Unicode's line and paragraph separators.
_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def has_line_break(text: str) -> bool:
    """Whether ``text`` holds a line break or another control character."""
    return bool(_BREAKS.search(text))


def one_line(text: str) -> str:
    """``text`` on one line: each run of breaks and control characters becomes a space."""
    return " ".join(_BREAKS.sub(" ", text).split())
