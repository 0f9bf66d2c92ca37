"""HTML (and every other response Django makes) gzipped for browsers that accept it.

On a phone on a slow network the HTML is the first thing on the critical path: the race
day pages are 3-5 times smaller gzipped (the live page of a 5,000-athlete race carries
its roster: 180 KB, 37 KB gzipped). Static files are not concerned: WhiteNoise serves
them before this middleware, from the ``.gz`` files ``collectstatic`` wrote.

``PublicGZipMiddleware`` is Django's ``GZipMiddleware`` (BREACH: Django masks CSRF tokens
per response and pads every gzip stream with random bytes, "Heal the BREACH") that
compresses a *public* page (``is_public``: what the page cache serves every
anonymous visitor, with no secret in it) once per process: a cache hit of a big
live page would otherwise cost ~3 ms of CPU to compress, per spectator, at the start
gun. Its ``process_response`` does no I/O: ``pace.daphne_patches.fastpath`` runs it on
its hits too. The page cache stores pages already compressed (``public_gzip``), so a
hit is gzipped before this middleware sees it.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.middleware.gzip import GZipMiddleware, re_accepts_gzip
from django.utils.cache import patch_vary_headers
from django.utils.text import compress_string

MEMO_BYTES = 16 * 1024 * 1024  # compressed public pages kept per process, at most


class _Memo:
    """Compressed bodies by the digest of the uncompressed one, least recently used out."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self.items: OrderedDict[bytes, bytes] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: bytes) -> bytes | None:
        with self.lock:
            value = self.items.get(key)
            if value is not None:
                self.items.move_to_end(key)
            return value

    def put(self, key: bytes, value: bytes) -> None:
        with self.lock:
            if key in self.items or len(value) > self.limit:
                return
            self.items[key] = value
            self.size += len(value)
            while self.size > self.limit:
                _, old = self.items.popitem(last=False)
                self.size -= len(old)


_memo = _Memo(MEMO_BYTES)


def mark_public(response: HttpResponse) -> None:
    """Say that ``response`` is the page every anonymous visitor gets (no secret in it):
    its body is compressed once per process."""
    response.pace_public_page = True  # type: ignore[attr-defined]


def is_public(response: object) -> bool:
    return getattr(response, "pace_public_page", False) is True


def accepts_gzip(request: HttpRequest) -> bool:
    return re_accepts_gzip.search(request.META.get("HTTP_ACCEPT_ENCODING", "")) is not None


def public_gzip(content: bytes) -> bytes:
    """A public page's body gzipped, the same bytes for everyone: compressed once per
    process (with Django's BREACH padding, as its middleware does)."""
    key = hashlib.blake2b(content, digest_size=20).digest()
    compressed = _memo.get(key)
    if compressed is None:
        compressed = compress_string(content, max_random_bytes=GZipMiddleware.max_random_bytes)
        _memo.put(key, compressed)
    return compressed


def gzipped(response: HttpResponse, compressed: bytes) -> None:
    """Make ``response`` carry ``compressed``, its body gzipped."""
    patch_vary_headers(response, ("Accept-Encoding",))
    response.content = compressed
    response.headers["Content-Length"] = str(len(compressed))
    etag = response.get("ETag")
    if etag and etag.startswith('"'):
        response.headers["ETag"] = "W/" + etag
    response.headers["Content-Encoding"] = "gzip"


class PublicGZipMiddleware(GZipMiddleware):
    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if (
            response.streaming
            or not isinstance(response, HttpResponse)
            or not is_public(response)
            or len(response.content) < 200
            or response.has_header("Content-Encoding")
            or not accepts_gzip(request)
        ):
            return super().process_response(request, response)
        compressed = public_gzip(response.content)
        if len(compressed) >= len(response.content):
            patch_vary_headers(response, ("Accept-Encoding",))
            return response
        gzipped(response, compressed)
        return response
