"""``{% inline_css "css/pace.css" %}``: a stylesheet's text, for a ``<style>`` in the page;
``{% inline_js "tracking/common.js" %}``: a small script's, for a ``<script>``.

The race-day pages (live, tracker, embed) are opened on phones on slow networks, where
every render-blocking stylesheet costs a round trip (400 ms on 3G) before the first
paint. They carry their own CSS in the HTML instead (a few KB gzipped: the HTML is
gzipped, ``pace.lib.compression``). The text is the collected file (WhiteNoise's
manifest storage) when there is one, else the source (tests, DEBUG), read once per
process; its relative ``url()``s are made absolute, as they were relative to the file.
A script inlined is one every page script needs first and that is small (common.js,
3 KB): one request fewer on the critical path of a 400 ms round-trip phone.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from urllib.parse import urljoin

from django import template
from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

_URL = re.compile(r"""url\(\s*(['"]?)(?!data:|[a-z]+://|/|#)([^'")]+)\1\s*\)""")
_SOURCE_MAP = re.compile(r"/\*#\s*sourceMappingURL=[^*]*\*/")


def _file(path: str) -> Path:
    stored_name = getattr(staticfiles_storage, "stored_name", None)  # manifest storage
    try:
        if stored_name is not None:
            collected = Path(staticfiles_storage.path(stored_name(path)))
            if collected.is_file():
                return collected
    except (ValueError, NotImplementedError, OSError):
        pass  # not collected: the source
    found = finders.find(path)
    if not found or isinstance(found, list):
        raise template.TemplateSyntaxError(f"inline_css: no static file {path!r}")
    return Path(found)


def css_text(path: str) -> str:
    base = staticfiles_storage.url(path).rsplit("/", 1)[0] + "/"
    text = _file(path).read_text(encoding="utf-8")
    text = _URL.sub(lambda m: f"url({m[1]}{urljoin(base, m[2])}{m[1]})", text)
    # No "</style>" can end the element early ("\/" is "/" in CSS).
    return _SOURCE_MAP.sub("", text).replace("</", "<\\/").strip()


_cached_css_text = functools.lru_cache(maxsize=32)(css_text)


@register.simple_tag
def inline_css(path: str) -> SafeString:
    text = css_text(path) if settings.DEBUG else _cached_css_text(path)
    return mark_safe(text)  # our own stylesheet, escaped for <style> above


_SOURCE_MAP_JS = re.compile(r"^//# sourceMappingURL=.*$", re.MULTILINE)


def js_text(path: str) -> str:
    text = _file(path).read_text(encoding="utf-8")
    if "</" in text or "<!--" in text:
        # Inside <script> these could end the element or change how it is parsed.
        raise template.TemplateSyntaxError(f"inline_js: {path!r} holds '</' or '<!--'")
    return _SOURCE_MAP_JS.sub("", text).strip()


_cached_js_text = functools.lru_cache(maxsize=8)(js_text)


@register.simple_tag
def inline_js(path: str) -> SafeString:
    text = js_text(path) if settings.DEBUG else _cached_js_text(path)
    return mark_safe(text)  # our own script, refused above if it could end its element
