"""Run Django's middleware chain in one thread under ASGI, and give that thread's database
connections back when it ends.

It relies on Django 5.2.19's adapting of middleware modes, whose source the same
test pins.
Written against daphne 4.2.3 / Twisted 26.10.0 / autobahn 26.11.1; checked by
pace/tests/test_daphne_patches_upstream.py.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.handlers.asgi import ASGIRequest
from django.db import connections
from django.http import HttpRequest, HttpResponse


class SyncChainMiddleware:
    """Last in ``MIDDLEWARE``: a sync-only middleware, so the whole chain runs sync.

    Under ASGI Django adapts each middleware to the mode of the one inside it. The
    innermost being sync-only, every middleware outside it runs in the request's thread
    one after the other, instead of hopping between the event loop and a thread around
    each ``process_request``/``process_response`` (WhiteNoise, sync-only, already forces
    one such switch). Measured under daphne: about a third less CPU per request.
    """

    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)


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
    middleware: ``SyncChainMiddleware`` keeps them in that one thread) whether or not
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
