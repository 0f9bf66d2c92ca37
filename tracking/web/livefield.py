"""The live page's whole field and roster over HTTP, compressed and shared.

A snapshot over the WebSocket carried the whole field uncompressed (279 KB at 5,000
athletes: 5.6 s on a 400 kbps phone before anything showed) and the page carried the
roster (48 KB gzipped). The page now opens its socket with ``?field=later`` (the snapshot
holds its focus only) and fetches, at the same time:

- ``field.json``: ``{"seq": S, "t": T, "field": [compact entries of every athlete]}``, read
  from the live store (the race's meta and field hash, one transaction: no database);
- ``roster.json``: ``{"roster": [[id, bib, name, category code, sex], ...]}``, from the
  database.

Each is built once per race per process for everyone (``FIELD_SECONDS``,
``ROSTER_SECONDS``), compressed once (Brotli and gzip) at that build, and answered with
an ETag, so 20,000 spectators arriving within seconds cost one build per process every
two seconds and a browser asking again for an unchanged field gets a 304.

A public race's documents, once built, are answered by the page fast path
(``shared_document_answer``, in the event loop: no thread, query or cache read): at a
start gun 20,000 pages fetch both, and through Django each fetch cost a thread, a
database and a Redis connection. A build, a private race or a family link goes to Django.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import brotli
from asgiref.sync import async_to_sync
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control, patch_vary_headers

from events.models import Event
from pace.daphne_patches.fastpath import DJANGO
from pace.lib.clock import SYSTEM, Clock
from pace.lib.jsonfast import dumps
from pace.lib.ratelimits import LocalWindow, request_ip
from tracking.live.livestore import live_store
from tracking.web.athletedata import spectator_roster
from tracking.web.family import watched_race_or_404

# The field changes every tick; two seconds old is within a tick or two of what the
# socket says, and 20,000 arrivals in 15 s are then ~8 builds per process.
FIELD_SECONDS = 2.0
# The roster changes when someone registers or is withdrawn: rare during a race.
ROSTER_SECONDS = 30.0
MAX_RACES = 200  # races remembered per process (a process serves a handful at once)
# A published race's address is resolved without a query for this long: everyone may
# watch it, so the answer is the same for every request (unpublishing shows within it).
PUBLISHED_SECONDS = 10.0
# The page fast path serves a document (or a race's publication) up to this many times
# its seconds old while the one request it sent to the view refreshes it.
STALE_LIMIT = 3


K = TypeVar("K")
V = TypeVar("V")


def served_while_refreshed(
    found: tuple[float, V] | None,
    refreshing: dict[K, float],
    key: K,
    seconds: float,
    clock: Clock,
) -> tuple[V | None, bool]:
    """``(value, refresh)`` of a value remembered at ``found[0]``, for the page fast path.

    The value while fresh (``seconds``); once stale, still the value (up to
    ``STALE_LIMIT`` times ``seconds`` old) with ``refresh`` True for one caller every
    ``seconds``, who sends its request to the view to refresh it. Everyone else keeps
    the last copy meanwhile: at a start gun, thousands of requests a second would
    otherwise queue on the view's thread each time it expires.
    """
    if found is None:
        return None, False
    now = clock.monotonic()
    age = now - found[0]
    if age < seconds:
        return found[1], False
    if age >= STALE_LIMIT * seconds:
        return None, False  # the refresh did not come back: the views answer
    handed = refreshing.get(key)
    if handed is not None and now - handed < seconds:
        return found[1], False
    refreshing[key] = now
    return found[1], True


@dataclass(frozen=True, slots=True)
class Built:
    """One JSON document, its ETag and its compressed forms."""

    raw: bytes
    gz: bytes
    br: bytes
    etag: str

    def body(self, accept_encoding: str) -> tuple[bytes, str | None]:
        """The body for a client sending ``accept_encoding``, and its Content-Encoding."""
        accepted = {part.split(";")[0].strip().lower() for part in accept_encoding.split(",")}
        if "br" in accepted:
            return self.br, "br"
        if "gzip" in accepted:
            return self.gz, "gzip"
        return self.raw, None


def built(raw: bytes, etag: str) -> Built:
    # Quality 5 / level 6: about as small as the best levels for these numbers, at a
    # fraction of their time (a 5,000-athlete field is compressed in a few ms).
    return Built(
        raw=raw,
        gz=gzip.compress(raw, compresslevel=6, mtime=0),
        br=brotli.compress(raw, quality=5),
        etag=etag,
    )


class Shelf:
    """Documents by race id, each rebuilt at most once per ``seconds`` per process: a
    request finding it older waits for the one build under way rather than making its own."""

    def __init__(self, seconds: float, clock: Clock = SYSTEM) -> None:
        self.seconds = seconds
        self.clock = clock
        self.items: dict[int, tuple[float, Built]] = {}
        self.refreshing: dict[int, float] = {}  # when a refresh was handed out (``peek``)
        self.locks: dict[int, threading.Lock] = {}
        self.guard = threading.Lock()

    def get(self, race_id: int, build: Callable[[], Built]) -> Built:
        found = self.items.get(race_id)
        if found is not None and self.clock.monotonic() - found[0] < self.seconds:
            return found[1]
        with self.guard:
            lock = self.locks.setdefault(race_id, threading.Lock())
        with lock:
            found = self.items.get(race_id)  # built by the request we waited for
            if found is not None and self.clock.monotonic() - found[0] < self.seconds:
                return found[1]
            document = build()
            with self.guard:
                if len(self.items) >= MAX_RACES:
                    self.items.clear()
                    self.refreshing.clear()
                self.items[race_id] = (self.clock.monotonic(), document)
            return document

    def peek(self, race_id: int) -> tuple[Built | None, bool]:
        """``(document, refresh)`` without waiting or building, for the page fast path
        (``served_while_refreshed``)."""
        return served_while_refreshed(
            self.items.get(race_id), self.refreshing, race_id, self.seconds, self.clock
        )

    def clear(self) -> None:
        with self.guard:
            self.items.clear()
            self.refreshing.clear()


fields = Shelf(FIELD_SECONDS)
rosters = Shelf(ROSTER_SECONDS)


def field_document(*, race_id: int) -> Built:
    """``field.json`` of a race: every athlete's compact entry at the live store's latest
    tick (none before the race's first tick), by athlete id (neighbours in the roster
    compress better side by side)."""

    def build() -> Built:
        meta, field = async_to_sync(live_store().field_state)(race_id)
        raw = field_json(meta, field)
        # seq alone names a field of this race's ticker; the length tells a restored
        # store's seq apart from the old one's.
        return built(raw, f'"f{race_id}-{meta["seq"] if meta else 0}-{len(raw)}"')

    return fields.get(race_id, build)


def roster_json(rows: list[list[Any]]) -> bytes:
    """``roster.json``'s body from ``spectator_roster``'s rows."""
    return dumps({"roster": rows}).encode()


def field_json(meta: dict[str, Any] | None, field: dict[int, str]) -> bytes:
    """``field.json``'s body from the live store's meta and encoded compact entries."""
    seq = meta["seq"] if meta else 0
    t = meta["t"] if meta else None
    entries = ",".join(field[a] for a in sorted(field))
    return f'{{"seq":{seq},"t":{dumps(t)},"field":[{entries}]}}'.encode()


def roster_document(*, race_id: int) -> Built:
    """``roster.json`` of a race: who its confirmed athletes are (``spectator_roster``)."""

    def build() -> Built:
        raw = roster_json(spectator_roster(race_id=race_id))
        digest = hashlib.blake2b(raw, digest_size=12).hexdigest()
        return built(raw, f'"r{race_id}-{digest}"')

    return rosters.get(race_id, build)


class PublishedRaces:
    """Published races' ids by address, remembered PUBLISHED_SECONDS."""

    def __init__(self, clock: Clock = SYSTEM) -> None:
        self.clock = clock
        self.items: dict[tuple[str, str], tuple[float, int]] = {}
        self.refreshing: dict[tuple[str, str], float] = {}

    def get(self, key: tuple[str, str]) -> int | None:
        found = self.items.get(key)
        if found is not None and self.clock.monotonic() - found[0] < PUBLISHED_SECONDS:
            return found[1]
        return None

    def peek(self, key: tuple[str, str]) -> tuple[int | None, bool]:
        """The race's id for the page fast path (``served_while_refreshed``): the view
        that checks it again forgets a race that is no longer public (``forget``)."""
        return served_while_refreshed(
            self.items.get(key), self.refreshing, key, PUBLISHED_SECONDS, self.clock
        )

    def put(self, key: tuple[str, str], race_id: int) -> None:
        if len(self.items) >= MAX_RACES:
            self.items.clear()
            self.refreshing.clear()
        self.items[key] = (self.clock.monotonic(), race_id)

    def forget(self, key: tuple[str, str]) -> None:
        self.items.pop(key, None)


published = PublishedRaces()


def watched_race_id(request: HttpRequest, event_slug: str, race_slug: str) -> tuple[int, bool]:
    """The id of the race at this address if this visitor may watch it (404 otherwise,
    ``watched_race_or_404``'s rules, a family link's ``?family=`` too), and whether it is
    public. A published race is remembered PUBLISHED_SECONDS: no query per request."""
    key = (event_slug, race_slug)
    found = published.get(key)
    if found is not None:
        return found, True
    try:
        race = watched_race_or_404(request, event_slug, race_slug)
    except Http404:
        published.forget(key)  # unpublished, or gone: the fast path stops serving it
        raise
    public = race.event.status == Event.Status.PUBLISHED
    if public:
        published.put(key, race.pk)
    else:
        published.forget(key)
    return race.pk, public


def document_response(
    request: HttpRequest, document: Built, *, public: bool, seconds: float
) -> HttpResponse:
    """A document built once for everyone: compressed as the client accepts, 304 when the
    client holds it, cacheable by the browser (and a shared cache for a public race)."""
    if document.etag in request.headers.get("If-None-Match", ""):
        response = HttpResponse(status=304)
    else:
        body, encoding = document.body(request.headers.get("Accept-Encoding", ""))
        response = HttpResponse(body, content_type="application/json")
        if encoding:
            response["Content-Encoding"] = encoding
    response["ETag"] = document.etag
    patch_vary_headers(response, ["Accept-Encoding"])
    if public:
        patch_cache_control(response, public=True, max_age=int(seconds))
    else:
        patch_cache_control(response, private=True, max_age=int(seconds))
    return response


# tracking:live_field and tracking:live_roster (Django's slug converter).
DOCUMENT_PATH = re.compile(r"/live/([-a-zA-Z0-9_]+)/([-a-zA-Z0-9_]+)/(field|roster)\.json")
# The per-IP limit of the two views, counted in memory for the answers below.
fast_limit = LocalWindow("live.field.ip")


def shared_document_answer(request: HttpRequest) -> HttpResponse | Literal["django"] | None:
    """The page fast path's answer to ``field.json`` or ``roster.json`` of a public race:
    the document this process built last, when it needs no build (``Shelf.peek``) and the
    race is remembered public (``published``); ``DJANGO`` sends the request to the views
    (never the page cache: it holds no such document); None: not such a request.

    Only a plain GET with no query string (a family link's ``?family=`` goes to Django);
    its response is the view's (``document_response``), so both answer alike.
    """
    match = DOCUMENT_PATH.fullmatch(request.path_info)
    if match is None:
        return None
    if request.method != "GET" or request.META.get("QUERY_STRING"):
        return DJANGO
    event_slug, race_slug, name = match.groups()
    race_id, recheck = published.peek((event_slug, race_slug))
    if race_id is None or recheck:
        return DJANGO
    shelf, seconds = (fields, FIELD_SECONDS) if name == "field" else (rosters, ROSTER_SECONDS)
    document, rebuild = shelf.peek(race_id)
    if document is None or rebuild or not fast_limit.allow(request_ip(request)):
        return DJANGO  # built, or counted and refused, by the view
    return document_response(request, document, public=True, seconds=seconds)
