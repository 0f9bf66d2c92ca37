"""``ReturnConnectionsMiddleware``: an ASGI request's connections go back to the pool when
its chain ends (a client that left never let Django's ``request_finished`` run), and an
empty pool is a 503 with ``Retry-After``, never a 500."""

from __future__ import annotations

import io

import pytest
from django.core.handlers.asgi import ASGIRequest
from django.db import OperationalError, connection
from django.http import HttpResponse
from django.test import RequestFactory

from events.models import Event
from pace.daphne_patches.syncchain import ReturnConnectionsMiddleware


def _asgi_request() -> ASGIRequest:
    scope = {"type": "http", "method": "GET", "path": "/", "query_string": b"", "headers": []}
    return ASGIRequest(scope, io.BytesIO())


def test_an_empty_pool_is_a_503_with_retry_after_and_anything_else_is_left_to_django():
    pool = pytest.importorskip("psycopg_pool")
    middleware = ReturnConnectionsMiddleware(lambda request: HttpResponse())
    request = RequestFactory().get("/live/e/r/field.json")
    exhausted = OperationalError("couldn't get a connection after 10.00 sec")
    exhausted.__cause__ = pool.PoolTimeout("couldn't get a connection after 10.00 sec")
    response = middleware.process_exception(request, exhausted)
    assert response is not None
    assert response.status_code == 503
    assert int(response["Retry-After"]) >= 1
    assert response["Cache-Control"] == "no-store"
    assert middleware.process_exception(request, OperationalError("deadlock")) is None
    assert middleware.process_exception(request, ValueError("bad")) is None


@pytest.mark.django_db(transaction=True)
def test_an_asgi_requests_connection_is_given_back_when_its_chain_ends():
    if connection.vendor == "sqlite":
        pytest.skip("an in-memory SQLite test database is never closed: PostgreSQL pass")

    def view(request):
        Event.objects.count()  # the request's thread takes a connection
        assert connection.connection is not None
        return HttpResponse()

    ReturnConnectionsMiddleware(view)(_asgi_request())
    assert connection.connection is None  # closed: with a pool, returned to it


@pytest.mark.django_db(transaction=True)
def test_it_keeps_a_connection_inside_a_transaction_and_leaves_wsgi_requests_alone():
    from django.db import transaction

    def view(request):
        Event.objects.count()
        return HttpResponse()

    with transaction.atomic():
        ReturnConnectionsMiddleware(view)(_asgi_request())
        assert connection.connection is not None
        assert not connection.needs_rollback
    ReturnConnectionsMiddleware(view)(RequestFactory().get("/"))
    assert connection.connection is not None
