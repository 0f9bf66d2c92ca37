"""OneThreadASGIHandler: under ASGI the middleware, the URL resolver and a sync view run
in one call in the request's thread; an async view still runs on the server's loop."""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.test import override_settings
from django.urls import path

from pace.daphne_patches.syncchain import OneThreadASGIHandler
from pace.lib.testing import AsgiAnswer, asgi_request

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


def _serve(url: str) -> tuple[AsgiAnswer, asyncio.AbstractEventLoop, int]:
    """``url`` through a new handler on a loop of its own: the answer, that loop, its thread."""

    async def run() -> tuple[AsgiAnswer, asyncio.AbstractEventLoop, int]:
        answer = await asgi_request(OneThreadASGIHandler(), url, host=b"testserver")
        return answer, asyncio.get_running_loop(), threading.get_ident()

    seen.clear()
    return asyncio.run(run())


@THIS_MODULES_VIEWS
def test_the_middleware_and_a_sync_view_run_in_one_call_in_one_thread() -> None:
    answer, _, loop_thread = _serve("/s/")
    assert (answer.status, answer.body) == (200, b"sync")
    assert seen["middleware"] == seen["view"] == seen["middleware_after"] != loop_thread
    # Resolved and called by Django's sync path, not by the async one through async_to_sync
    # (each such return to the loop waited for its turn on a busy server).
    assert "_get_response" in seen["callers"]
    assert "_get_response_async" not in seen["callers"]


@THIS_MODULES_VIEWS
def test_an_async_view_still_runs_on_the_servers_loop() -> None:
    answer, loop, _ = _serve("/a/")
    assert (answer.status, answer.body) == (200, b"async")
    assert seen["async_loop"] is loop


def test_the_server_uses_it() -> None:
    from pace import asgi

    assert isinstance(asgi.django_asgi_app, OneThreadASGIHandler)
