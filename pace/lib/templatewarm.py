"""Compile the project's templates as a server process starts.

Django's cached template loader compiles a template the first time a request renders
it: ~110-160 ms for the first page a process renders (the tag libraries, the base
layout), a few milliseconds for each page after, and several times that on a busy
server. After every restart the first visitor of each page of each process paid it. A
server process now pays it once, before it serves anyone (``pace/asgi.py``): ~0.3 s for
the project's 78 templates.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from django.conf import settings
from django.template.loader import get_template

logger = logging.getLogger(__name__)


def compile_templates() -> int:
    """Load every ``.html`` template under the project's template directories into the
    cached loader; the number compiled. One that does not compile is logged and left
    (its page will say why when it is asked for)."""
    engines: list[dict[str, Any]] = settings.TEMPLATES
    roots = [Path(directory) for engine in engines for directory in engine.get("DIRS", [])]
    compiled = 0
    for root in roots:
        for path in sorted(root.rglob("*.html")):
            name = path.relative_to(root).as_posix()
            try:
                get_template(name)
            except Exception:  # a broken page must not keep the server down
                logger.warning("template %s does not compile", name, exc_info=True)
                continue
            compiled += 1
    return compiled
