"""Test helpers that know no app: usable by every app's tests and by pace's own."""

from __future__ import annotations

import asyncio
import heapq
import inspect
import itertools
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")

# Every test user's password (``events.tests.factories.make_user``); the browser
# fixtures type it into the login page.
PASSWORD = "correct-horse-battery"
# How long a browser test's actions, expect() assertions and eventually() wait: long
# enough for a page on a loaded two-core machine.
WAIT_SECONDS = 10.0


def admin_form_data(response: Any) -> dict[str, Any]:
    """The POST a browser sends for an admin change page left as it is (inlines included)."""
    from django import forms

    data: dict[str, Any] = {}
    forms_on_page = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        forms_on_page += [formset.management_form, *formset.forms]
    for form in forms_on_page:
        for field in form:
            widget = getattr(field.field.widget, "widget", field.field.widget)
            value = field.value()
            if field.field.disabled or isinstance(field.field, forms.FileField):
                continue  # not sent, or no file chosen: the stored one stays
            if isinstance(widget, forms.MultiWidget):
                for i, part in enumerate(widget.decompress(value) or ()):
                    data[f"{field.html_name}_{i}"] = "" if part is None else str(part)
            elif isinstance(value, bool):
                if value:
                    data[field.html_name] = "on"
            elif value is not None:
                data[field.html_name] = value
    return data


def eventually(check: Callable[[], T], *, timeout: float = WAIT_SECONDS) -> T:
    """Run ``check`` until it stops raising AssertionError and return its result, raising
    the last error past the deadline: Playwright's retrying ``expect`` for a value a test
    computes from the page (the Python API has no ``expect.poll``)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.1)  # between tries of a condition, not a wait for one


async def wait_until(
    check: Callable[[], Any | Awaitable[Any]],
    *,
    timeout: float = WAIT_SECONDS,
    every: float = 0.005,
) -> Any:
    """Await until ``check()`` (a function or a coroutine function) is truthy and return
    it, raising TimeoutError past the deadline: for what another task, thread or process
    does (a frame through a channel layer, a commit), never for time to pass. ``every``:
    seconds between tries, longer when a try costs the server something (a connection)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"not true after {timeout} s: {check!r}")
        await asyncio.sleep(every)  # between tries of a condition, not a wait for one


class FakeClock:
    """A ``pace.lib.clock.Clock`` that moves only when a test advances it.

    Its sleepers wake in the order they are due, each at its own time, and run until
    they wait again before the next one wakes: a loop that sleeps between iterations
    runs its iterations as it would in real time, however far the test moves."""

    def __init__(self, start: float | None = None) -> None:
        self.start = time.time() if start is None else start
        self.elapsed = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def time(self) -> float:
        return self.start + self.elapsed

    def monotonic(self) -> float:
        return 1_000_000.0 + self.elapsed

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)  # a yield, as asyncio.sleep(0) is
            return
        future = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.elapsed + seconds, next(self._order), future))
        await future

    @property
    def sleepers(self) -> int:
        """Tasks asleep on this clock now."""
        return sum(1 for *_, future in self._sleepers if not future.done())

    async def sleeping(self, count: int = 1, *, timeout: float = WAIT_SECONDS) -> None:
        """Wait until ``count`` tasks sleep on this clock (a loop is between iterations)."""
        await wait_until(lambda: self.sleepers >= count, timeout=timeout)

    async def advance(self, seconds: float) -> None:
        """Move the clock ``seconds`` on, waking whoever falls due meanwhile."""
        target = self.elapsed + seconds
        while self._sleepers and self._sleepers[0][0] <= target:
            due, _, future = heapq.heappop(self._sleepers)
            if future.done():  # its sleeper was cancelled
                continue
            self.elapsed = max(self.elapsed, due)
            future.set_result(None)
            await _settle()
        self.elapsed = target
        await _settle()


async def _settle() -> None:
    """Let the tasks woken so far run up to their next wait that is not a bare yield."""
    for _ in range(20):
        await asyncio.sleep(0)


def cache_clear_own() -> None:
    """Empty this test process's cache: on Redis only its own keys (its prefix), as
    ``cache.clear()`` would flush the keys of every test worker sharing the database
    (their pending uploads, rate-limit counters and pages)."""
    from django.conf import settings
    from django.core.cache import cache

    if settings.REDIS_URL:
        client = cache._cache.get_client(write=True)  # type: ignore[attr-defined]
        keys = list(client.scan_iter(f"{settings.REDIS_KEY_PREFIX}:*"))
        if keys:
            client.delete(*keys)
    else:
        cache.clear()


@contextmanager
def shared_rows(django_db_blocker: Any) -> Iterator[None]:
    """For a module's or package's fixture whose rows are slow to make: they are made once,
    kept for all its tests (each runs in its own savepoint on top) and rolled back after
    the last."""
    from django.db import transaction

    with django_db_blocker.unblock(), transaction.atomic():
        try:
            yield
        finally:
            transaction.set_rollback(True)


@dataclass
class AsgiAnswer:
    """What an ASGI application answered one HTTP request (``asgi_fetch``)."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    by_django: bool  # Django's handler took the request (not the page fast path)

    @property
    def header_names(self) -> set[str]:
        return {name.decode().lower() for name, _ in self.headers}

    def header(self, name: str) -> str | None:
        wanted = name.lower().encode()
        return next((v.decode() for k, v in self.headers if k.lower() == wanted), None)

    def same_as(self, other: AsgiAnswer) -> bool:
        mine = (self.status, sorted(self.headers), self.body)
        return mine == (other.status, sorted(other.headers), other.body)


async def asgi_request(
    app: Any,
    url: str,
    *,
    host: bytes,
    method: str = "GET",
    headers: tuple[tuple[bytes, bytes], ...] = (),
    scheme: str = "http",
    raw_query: bytes | None = None,
    started: list[object] | None = None,
) -> AsgiAnswer:
    """One request through ``app`` as daphne sends it; ``by_django`` is whether
    ``started`` (appended to by ``request_started``) grew meanwhile."""
    from asgiref import testing

    path, _, query = url.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": scheme,
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode() if raw_query is None else raw_query,
        "root_path": "",
        "headers": [(b"host", host), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    before = len(started) if started is not None else 0
    communicator: Any = testing.ApplicationCommunicator(app, scope)  # type: ignore[no-untyped-call]
    await communicator.send_input({"type": "http.request", "body": b""})
    start = await communicator.receive_output(10)
    body = b""
    while True:
        message = await communicator.receive_output(10)
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await communicator.wait(10)
    by_django = started is not None and len(started) > before
    return AsgiAnswer(start["status"], start["headers"], body, by_django=by_django)


def asgi_fetch_all(
    app: Any, urls: list[str], started: list[object] | None = None, **options: Any
) -> list[AsgiAnswer]:
    """``asgi_request`` for each of ``urls``, all at once in one event loop (then the
    app's own connections are closed: they belong to that loop). Django's handler
    appends to ``started`` each request it takes (``by_django`` is exact for one URL)."""
    from asgiref.sync import async_to_sync
    from django.core.signals import request_started

    started = [] if started is None else started

    def count(**kwargs: Any) -> None:
        started.append(kwargs)

    async def run() -> list[AsgiAnswer]:
        try:
            if len(urls) == 1:  # by_django is then exact
                return [await asgi_request(app, urls[0], started=started, **options)]
            return list(await asyncio.gather(*(asgi_request(app, u, **options) for u in urls)))
        finally:
            if hasattr(app, "aclose"):
                await app.aclose()

    request_started.connect(count, weak=False)
    try:
        return async_to_sync(run)()
    finally:
        request_started.disconnect(count)


def asgi_fetch(app: Any, url: str, **options: Any) -> AsgiAnswer:
    """One request through ``app`` (``asgi_request``'s options), from sync code."""
    return asgi_fetch_all(app, [url], **options)[0]


# The CSS properties the page's endless animations move (a pulse shown for hours must be
# composited, transform and opacity: anything else repaints the page every frame).
ENDLESS_ANIMATED_PROPERTIES = """() => [...new Set(document.getAnimations()
  .filter(a => a.effect && a.effect.getTiming().iterations === Infinity)
  .flatMap(a => a.effect.getKeyframes().flatMap(k => Object.keys(k)))
  .filter(p => !['offset', 'computedOffset', 'easing', 'composite'].includes(p)))].sort()"""


def assert_endless_animations_composited(page: Any) -> None:
    """The page pulses (its endless animations move only transform and opacity) and stops
    for a visitor who asks for reduced motion."""
    moved = page.evaluate(ENDLESS_ANIMATED_PROPERTIES)
    assert moved and set(moved) <= {"transform", "opacity"}, moved
    page.emulate_media(reduced_motion="reduce")
    try:
        assert page.evaluate(ENDLESS_ANIMATED_PROPERTIES) == []
    finally:
        page.emulate_media(reduced_motion="no-preference")


def tab_stops(page: Any, presses: int, until: str = "") -> list[str]:
    """What the Tab key reaches from the top of the page: each focused element as
    ``tag.class`` (SVG included), pressing at most ``presses`` times or until the focused
    element matches the CSS selector ``until``."""
    page.evaluate("document.activeElement && document.activeElement.blur()")
    stops: list[str] = []
    for _ in range(presses):
        page.keyboard.press("Tab")
        stop, done = page.evaluate(
            """until => { const e = document.activeElement;
            const cls = (e.getAttribute('class') || '').trim().split(/\\s+/).join('.');
            const name = e.tagName.toLowerCase() + (cls ? '.' + cls : '');
            return [name, !!until && e.matches(until)]; }""",
            until,
        )
        stops.append(stop)
        if done:
            break
    return stops


# The map's markers that the Tab key would stop on (Leaflet's tooltips listen for focus,
# which puts an SVG path in Chromium's Tab order unless its tabindex is -1).
MARKERS_IN_TAB_ORDER = """document.querySelectorAll(
  '.leaflet-overlay-pane path.leaflet-interactive:not([tabindex="-1"])').length"""


def assert_markers_out_of_tab_order(page: Any, presses: int, until: str) -> None:
    """The keyboard reaches ``until`` within ``presses`` Tabs from the top, never stopping
    on one of the map's markers (SVG paths)."""
    stops = tab_stops(page, presses, until)
    assert not [s for s in stops if s.startswith("path")], stops
    assert page.evaluate("s => document.activeElement.matches(s)", until), stops


def in_run_order(items: list[Any], slow_first: Sequence[str]) -> None:
    """Sort a run's collected tests in place: browser tests after every other test, and
    within each kind the files of ``slow_first`` first, in that order; the rest keep
    theirs (a stable sort: a file's tests stay together, its module fixtures built once).

    Browser tests last: the browser is shared by the session, and Playwright's sync API
    keeps its event loop running in the test process's thread until the session ends, so
    a test after it that reaches ``async_to_sync`` (a channel-layer send on commit, say)
    fails with "cannot use AsyncToSync in the same thread as an async event loop".
    ``make test`` runs the two kinds in passes of their own; a run selecting both (``-k``,
    a list of files) is ordered so. Slow files first: with ``-n`` workers take tests in
    this order, and a long file met last keeps one worker busy while the others idle."""

    def key(item: Any) -> tuple[bool, int]:
        path = item.nodeid.split("::")[0]
        rank = slow_first.index(path) if path in slow_first else len(slow_first)
        return item.get_closest_marker("browser") is not None, rank

    items.sort(key=key)
