"""OneThreadASGIHandler: under ASGI the middleware, the URL resolver and a sync view run
in one call in the request's thread; an async view still runs on the server's loop."""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Callable, Mapping
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


@THIS_MODULES_VIEWS
def test_a_cancelled_request_takes_its_view_and_disconnect_listener_with_it() -> None:
    """daphne cancels a request whose client left and which has not ended; its two tasks
    end with it: no response task left waiting, and no disconnect listener ending in
    ``RequestAborted`` that nobody retrieves (logged as "exception never retrieved")."""

    async def run() -> list[tuple[bool, str]]:
        inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        await inbox.put({"type": "http.request", "body": b""})
        never = asyncio.Event()

        async def send(message: Mapping[str, Any]) -> None:
            await never.wait()  # a client that reads nothing: the response never goes out

        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": "GET", "scheme": "http", "path": "/s/", "raw_path": b"/s/",
            "query_string": b"", "root_path": "", "headers": [(b"host", b"testserver")],
            "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
        }  # fmt: skip
        before = asyncio.all_tasks()
        request = asyncio.ensure_future(OneThreadASGIHandler()(scope, inbox.get, send))
        while "view" not in seen:  # the view ran; its response waits on send
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        children = [t for t in asyncio.all_tasks() - before if t is not request]
        request.cancel()  # daphne's "took too long to shut down": its client went
        await inbox.put({"type": "http.disconnect"})
        await asyncio.gather(request, return_exceptions=True)
        await asyncio.sleep(0.05)
        # Read here, before asyncio.run cancels what is left at its end.
        return [(t.done(), _raised(t)) for t in children]

    seen.clear()
    ends = asyncio.run(run())
    assert ends == [(True, "")] * 2, ends


def _raised(task: asyncio.Task[Any]) -> str:
    """What a task ended with, if it raised (a cancelled one has nothing to read)."""
    if not task.done() or task.cancelled() or task.exception() is None:
        return ""
    return repr(task.exception())
