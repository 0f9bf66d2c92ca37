"""OneThreadASGIHandler: under ASGI the middleware, the URL resolver and a sync view run
in one call in the request's thread; an async view still runs on the server's loop."""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.testing import ApplicationCommunicator
from django.http import HttpRequest, HttpResponse
from django.test import override_settings
from django.urls import path

from pace.daphne_patches.syncchain import OneThreadASGIHandler

seen: dict[str, Any] = {}


class Recorder:
    """A sync middleware noting the thread it runs in."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        seen["middleware"] = threading.get_ident()
        response = self.get_response(request)
        seen["middleware_after"] = threading.get_ident()
        return response


def sync_view(request: HttpRequest) -> HttpResponse:
    seen["view"] = threading.get_ident()
    seen["callers"] = {frame.function for frame in inspect.stack()}
    return HttpResponse("sync")


async def async_view(request: HttpRequest) -> HttpResponse:
    seen["async_loop"] = asyncio.get_running_loop()
    return HttpResponse("async")


urlpatterns = [path("s/", sync_view), path("a/", async_view)]
THIS_MODULES_VIEWS = override_settings(
    MIDDLEWARE=["pace.tests.test_one_thread_handler.Recorder"],
    ROOT_URLCONF="pace.tests.test_one_thread_handler",
    ALLOWED_HOSTS=["testserver"],
)


async def _get(handler: OneThreadASGIHandler, url: str) -> tuple[int, bytes]:
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "path": url, "raw_path": url.encode(), "query_string": b"", "root_path": "",
        "scheme": "http", "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 5000), "server": ("testserver", 80),
    }  # fmt: skip
    app = ApplicationCommunicator(handler, scope)
    await app.send_input({"type": "http.request", "body": b"", "more_body": False})
    start = await app.receive_output(5)
    body = await app.receive_output(5)
    await app.wait(5)
    return start["status"], body["body"]


@THIS_MODULES_VIEWS
def test_the_middleware_and_a_sync_view_run_in_one_call_in_one_thread() -> None:
    seen.clear()
    handler = OneThreadASGIHandler()

    async def run() -> tuple[int, bytes, int]:
        status, body = await _get(handler, "/s/")
        return status, body, threading.get_ident()

    status, body, loop_thread = asyncio.run(run())
    assert (status, body) == (200, b"sync")
    assert seen["middleware"] == seen["view"] == seen["middleware_after"] != loop_thread
    # Resolved and called by Django's sync path, not by the async one through async_to_sync
    # (each such return to the loop waited for its turn on a busy server).
    assert "_get_response" in seen["callers"]
    assert "_get_response_async" not in seen["callers"]


@THIS_MODULES_VIEWS
def test_an_async_view_still_runs_on_the_servers_loop() -> None:
    seen.clear()
    handler = OneThreadASGIHandler()

    async def run() -> tuple[int, bytes, asyncio.AbstractEventLoop]:
        status, body = await _get(handler, "/a/")
        return status, body, asyncio.get_running_loop()

    status, body, loop = asyncio.run(run())
    assert (status, body) == (200, b"async")
    assert seen["async_loop"] is loop


def test_the_server_uses_it() -> None:
    from pace import asgi

    assert isinstance(asgi.django_asgi_app, OneThreadASGIHandler)


pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")
