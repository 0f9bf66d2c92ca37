"""Run Django's middleware chain in one thread under ASGI, and give that thread's database
connections back when it ends.

It relies on Django 5.2.19's middleware loading and ASGI handler, whose source the
same test pins.
Written against daphne 4.2.3 / Twisted 26.10.0 / autobahn 26.11.1; checked by
pace/tests/test_daphne_patches_upstream.py.
"""

from __future__ import annotations

from collections.abc import Callable

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler, ASGIRequest
from django.db import connections
from django.http import HttpRequest, HttpResponse


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
