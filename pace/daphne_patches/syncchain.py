"""Run Django's middleware chain in one thread under ASGI, and give that thread's database
connections back when it ends.

It relies on Django 5.2.19's middleware loading and ASGI handler, whose source the
same test pins.
Written against daphne 4.2.3 / Twisted 26.10.0 / autobahn 26.11.1; checked by
pace/tests/test_daphne_patches_upstream.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler, ASGIRequest
from django.db import connections
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase


class OneThreadASGIHandler(ASGIHandler):
    """Django's ASGI handler with the whole request (every middleware, the URL resolver,
    the view, its template) run in one call in the request's thread.

    Django's own builds an async chain under ASGI: each middleware adapted to the mode
    of the one inside it, and innermost ``_get_response_async``, which resolves the URL
    and awaits a sync view through ``sync_to_async``. Pace's middleware are all sync
    (WhiteNoise is sync-only), so a request went from the event loop to its thread for
    the middleware, back to the loop (``async_to_sync``) to resolve the view, to the
    thread again for the view, and back through the loop on the way out. Each return to
    a loop busy with thousands of phones waits for the loop's turn (a profile of the
    tracker page under 5,000 phones: its thread waiting in ``AsyncToSync`` for as long
    as the view ran). Built sync, the chain is one ``sync_to_async``: the loop hands the
    request over once and gets the response back once. An async view (``/osmand/``) is
    run by Django's sync ``_get_response`` through ``async_to_sync``, on the server's
    loop, with as many hops as before.
    """

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)
        chain: Callable[[HttpRequest], HttpResponse] = self._middleware_chain  # type: ignore[has-type]
        # The request's own thread (ASGIHandler gives each request a ThreadSensitiveContext).
        self._middleware_chain = sync_to_async(chain, thread_sensitive=True)

    async def handle(self, scope: Any, receive: Any, send: Any) -> None:
        """Django's, and when the server cancels it, the two tasks it started go with it.

        daphne cancels a request's application when its client left more than 10 s ago
        and it has not ended (an overloaded process at a start gun: thousands of them).
        Django's ``handle`` is then waiting on two tasks of its own, the response's and
        the disconnect listener's, and leaves both running: the view goes on for nobody,
        and the listener's ``RequestAborted`` is logged as "Task exception was never
        retrieved", a traceback a request, when the load is already too much."""
        started: list[asyncio.Task[Any]] = []
        token = _request_tasks.set(started)
        try:
            await super().handle(scope, receive, send)
        except asyncio.CancelledError:
            for task in started:
                task.cancel()
            raise
        finally:
            _request_tasks.reset(token)

    async def listen_for_disconnect(self, receive: Any) -> None:
        _started_by_handle()
        await super().listen_for_disconnect(receive)

    async def run_get_response(self, request: HttpRequest) -> HttpResponseBase:
        _started_by_handle()
        return await super().run_get_response(request)


# The tasks ``handle`` started for the request (each copies its context, so the list).
_request_tasks: ContextVar[list[asyncio.Task[Any]] | None] = ContextVar(
    "pace_request_tasks", default=None
)


def _started_by_handle() -> None:
    started, task = _request_tasks.get(), asyncio.current_task()
    if started is not None and task is not None:
        started.append(task)


def _pool_exhausted(exc: BaseException) -> bool:
    """Whether ``exc`` is the database pool's "no connection within its timeout"."""
    from django.db import OperationalError

    if not isinstance(exc, OperationalError):
        return False
    try:
        from psycopg_pool import PoolTimeout
    except ImportError:  # no pool installed: never this
        return False
    return isinstance(exc.__cause__, PoolTimeout)


class ReturnConnectionsMiddleware:
    """First in ``MIDDLEWARE``: under ASGI a request's database connections go back to
    the pool when its chain ends, even when its client went away; and a request that
    found the pool empty is answered 503 with ``Retry-After``, not 500.

    Django runs each ASGI request's sync code in a thread of its own and returns its
    connection from ``request_finished``, which ``response.close()`` sends. A client
    that disconnects cancels the request's task before that: the thread finishes the
    view and retires holding its pooled connection, which nothing returns. At a start
    gun's thousands of page fetches a second, within seconds every connection of a
    process's pool was held by a retired thread and each process answered every query
    with "couldn't get a connection" until restarted. This middleware's ``finally``
    runs in the request's thread after the whole chain (the view, its template, every
    middleware: ``OneThreadASGIHandler`` keeps them in that one thread) whether or not
    anyone still awaits it.
    """

    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return self.get_response(request)
        finally:
            if isinstance(request, ASGIRequest):
                return_connections()

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not _pool_exhausted(exception):
            return None
        response = HttpResponse(
            "Busy: please try again in a few seconds.\n",
            status=503,
            content_type="text/plain; charset=utf-8",
        )
        response["Retry-After"] = str(POOL_RETRY_AFTER_SECONDS)
        response["Cache-Control"] = "no-store"
        return response


POOL_RETRY_AFTER_SECONDS = 5


def return_connections() -> None:
    """Close (with a pool: return) this thread's connections Django would close at the end
    of a request, except one inside a transaction (a test's, or a caller's own)."""
    for conn in connections.all(initialized_only=True):
        if not conn.in_atomic_block:
            conn.close_if_unusable_or_obsolete()
