"""Text that people type for others to read (posts, SOS calls, race control's messages,
family links' names): plain text, or a reason it is not.

Control characters other than line breaks and tabs garble screens and e-mail (an escape
sequence, a carriage return forging a header line); Unicode's bidirectional embedding,
override and isolate controls (U+202A-202E, U+2066-2069) turn the text after them around
on the reader's screen ("txt.exe" shown as "exe.txt", a name reading backwards), which no
athlete's message needs. Right-to-left scripts need none of them: they are written as
they are.
"""

from __future__ import annotations

BIDI_CONTROLS = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))


def plain_text_problem(text: str) -> str | None:
    """Why ``text`` is not plain text, or None when it is."""
    for c in text:
        code = ord(c)
        if (code < 32 and c not in "\n\t") or 127 <= code < 160:
            return "must be plain text (no control characters)"
        if c in BIDI_CONTROLS:
            return "must be plain text (no direction override characters)"
    return None
